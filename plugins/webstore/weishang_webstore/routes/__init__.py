"""The store's routers, one per area; ``app.create_app`` mounts them."""
