"""ordergate: order self-service for headless Shopify storefronts."""
