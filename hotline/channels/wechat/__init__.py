"""WeChat official account (微信公众号) channel: signed XML webhooks, plain or safe mode."""
