"""pot-bridge: runs food coops on the WooCommerce shops they already have."""

__version__ = "0.1.0"
