"""Optional generative answers through LangChain and an OpenAI-compatible endpoint.

The model sees only the retrieved articles. Whatever it writes, every 第N条 it mentions is checked
against the retrieved set and any other article reference is removed, so the bot never cites an
article retrieval did not return. Any failure falls back to the extractive answer (the caller's job).
"""

import re
from dataclasses import dataclass

from knowledge import chinese_to_int
from knowledge.numerals import CHINESE_NUMERAL_CHARS
from retrieval.corpus import ArticleRef
from retrieval.errors import GenerationError

_CITATION = re.compile(rf"(?:《[^》]{{1,40}}》)?第\s*([{CHINESE_NUMERAL_CHARS}0-9０-９]+)\s*条")
_SYSTEM_PROMPT = (
    "你是区人民政府办公室的规则助手。只依据用户给出的条文回答，不要使用条文以外的知识。"
    "用两三句简洁的中文作答，并注明所依据的条文编号（如第七十九条）。条文没有涉及的内容，直接说规则没有规定。"
)


@dataclass(frozen=True)
class LLMSettings:
    """Where the optional LLM lives; the API key comes from an environment variable."""

    base_url: str
    model: str
    api_key: str
    timeout_s: float = 20.0


def remove_unretrieved_citations(text: str, allowed: set[int]) -> str:
    """Delete every article reference whose number is not among the retrieved articles."""

    def keep_or_drop(match: re.Match[str]) -> str:
        try:
            number = chinese_to_int(match.group(1))
        except ValueError:
            return ""
        return match.group(0) if number in allowed else ""

    return _CITATION.sub(keep_or_drop, text)


class LLMWriter:
    """Writes a short answer from retrieved articles with a chat model."""

    def __init__(self, settings: LLMSettings) -> None:
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        self._chat = ChatOpenAI(
            base_url=settings.base_url,
            model=settings.model,
            api_key=SecretStr(settings.api_key),  # what pydantic would make of the plain string
            timeout=settings.timeout_s,
            max_retries=0,
            temperature=0,
        )

    def write(self, question: str, articles: list[ArticleRef]) -> str:
        context = "\n\n".join(f"{ref.citation}\n{ref.article.text}" for ref in articles)
        messages = [("system", _SYSTEM_PROMPT), ("human", f"条文：\n{context}\n\n问题：{question}")]
        try:
            reply = self._chat.invoke(messages)
        except Exception as exc:  # any transport, auth or timeout failure of the optional model
            raise GenerationError(f"LLM call failed: {exc!r}") from exc
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        guarded = remove_unretrieved_citations(text, {ref.article.number for ref in articles}).strip()
        if not guarded:
            raise GenerationError("LLM returned an empty answer")
        return guarded
