"""The WeCom (企业微信 / 政务微信) channel: callback crypto now, the API client and adapter to follow.
Only channel wiring may import it; the domain and the workflow kernel must not (pyproject's contracts)."""
