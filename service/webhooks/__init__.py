"""Shopify's webhooks (CONTRACT §6): the signature check and the endpoint that stores deliveries."""
