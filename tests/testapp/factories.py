"""Valid configurations for the test plugins."""

STRIPE_CONFIG = {
    "publishable_key": "pk_test_123",
    "secret_key": "sk_live_UNIQUE_SECRET_7f3a9c",
    "webhook_secret": "whsec_UNIQUE_WEBHOOK_4d2e",
    "currency": "EUR",
    "sandbox": False,
    "retries": 3,
}
