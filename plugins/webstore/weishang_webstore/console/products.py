"""Products in the console: the list, adding and editing one (with a photo upload)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from weishang_core import (
    catalog,
)
from weishang_core.errors import UserError
from weishang_core.models import Product
from weishang_core.money import format_yuan
from weishang_webstore.console.common import back, console_router, view
from weishang_webstore.deps import FormDep, SessionDep, Staff, StaffDep, StoreDep
from weishang_webstore.store import Store

router = console_router()


@router.get("/products", response_class=HTMLResponse)
def products(request: Request, session: SessionDep, me: StaffDep) -> HTMLResponse:
    return view(request, "console/products.html", me, products=catalog.list_all(session), yuan=format_yuan)


def product_form(
    store: Store, request: Request, me: Staff, product: Product | None, status: int = 200, **extra: Any
) -> HTMLResponse:
    return view(
        request,
        "console/product_form.html",
        me,
        status,
        product=product,
        price=format_yuan(product.price_fen) if product else "",
        levels=store.settings.max_commission_levels,
        profile=store.settings.compliance,
        **extra,
    )


@router.get("/products/new", response_class=HTMLResponse)
def new_product(store: StoreDep, request: Request, me: StaffDep) -> HTMLResponse:
    return product_form(store, request, me, None)


def photo_names(store: Store, photo: UploadFile | None) -> list[str] | None:
    if photo is None or not photo.filename:
        return None
    data = photo.file.read(store.settings.max_upload_bytes + 1)
    return [catalog.store_photo(store.settings, data, photo.filename)]


@router.post("/products/new")
def create_product(
    store: StoreDep,
    request: Request,
    me: StaffDep,
    form: FormDep,
    sku: Annotated[str, Form(max_length=64)],
    title: Annotated[str, Form(max_length=200)],
    price: Annotated[str, Form(max_length=20)],
    stock: Annotated[str, Form(max_length=12)] = "0",
    description: Annotated[str, Form(max_length=20_000)] = "",
    commission: Annotated[str, Form(max_length=200)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    try:
        images = photo_names(store, photo)
        with store.maker.begin() as session:
            product = catalog.add(
                session,
                store.settings,
                sku,
                catalog.ProductInput(title, price, stock, description, None, commission or None),
            )
            product.images = images or []
            made = product.sku
    except UserError as exc:
        return product_form(store, request, me, None, 400, error=str(exc), given=form)
    return back(f"/console/products/{made}", f"{made} added")


@router.get("/products/{sku}", response_class=HTMLResponse)
def edit_product(store: StoreDep, sku: str, request: Request, session: SessionDep, me: StaffDep) -> HTMLResponse:
    return product_form(store, request, me, catalog.get(session, sku))


@router.post("/products/{sku}")
def save_product(
    store: StoreDep,
    sku: str,
    request: Request,
    me: StaffDep,
    title: Annotated[str, Form(max_length=200)],
    price: Annotated[str, Form(max_length=20)],
    stock: Annotated[str, Form(max_length=12)],
    description: Annotated[str, Form(max_length=20_000)] = "",
    commission: Annotated[str, Form(max_length=200)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    try:
        images = photo_names(store, photo)
        with store.maker.begin() as session:
            product = catalog.update(
                session, store.settings, sku, catalog.ProductInput(title, price, stock, description, None, commission)
            )
            if images:
                product.images = [*images, *product.images][:9]
    except UserError as exc:
        with store.maker() as session:
            current = catalog.get(session, sku)
        return product_form(store, request, me, current, 400, error=str(exc))
    return back(f"/console/products/{sku}", "saved")
