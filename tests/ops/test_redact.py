from tg.ops.redact import redact, redact_url


def test_url_credentials_are_masked() -> None:
    assert redact_url("http://alice:s3cret@127.0.0.1:7890") == "http://alice:***@127.0.0.1:7890"
    assert redact_url("http://127.0.0.1:7890") == "http://127.0.0.1:7890"


def test_secret_named_keys_are_masked_recursively() -> None:
    data = {"serve": {"api_key": "abc", "host": "h"}, "network": {"proxy_url": "socks5://u:p@h:1"}}
    assert redact(data) == {"serve": {"api_key": "***", "host": "h"}, "network": {"proxy_url": "socks5://u:***@h:1"}}
    assert redact({"api_key": ""}) == {"api_key": ""}
