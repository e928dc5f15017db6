"""The rating page's HTML: one small document readable on a phone, every value escaped."""

from __future__ import annotations

from html import escape

from hotline.callbacks.ratings import LABELS
from hotline.storage.models import Rating

TITLE = "12345 回访评价"
#: the order the choices are offered in
CHOICES = (Rating.SATISFIED, Rating.BASIC, Rating.UNSATISFIED)
_STYLE = """
body{margin:0;font:17px/1.6 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
color:#1f2328;background:#f4f5f7}
main{max-width:34rem;margin:0 auto;padding:1rem 1.1rem 2rem;background:#fff;min-height:100vh}
h1{font-size:1.3rem;margin:.4rem 0 1rem;color:#b3261e}
.summary{padding:.6rem .8rem;background:#f4f5f7;border-radius:.4rem;word-break:break-all}
fieldset{border:0;padding:0;margin:1rem 0}
legend{font-weight:600;margin-bottom:.4rem}
.choice{display:block;padding:.75rem .9rem;margin:.5rem 0;border:1px solid #c9ccd1;
border-radius:.5rem}
.choice input{transform:scale(1.3);margin-right:.6rem}
textarea{box-sizing:border-box;width:100%;font:inherit;padding:.5rem;margin:.4rem 0 1rem;
border:1px solid #c9ccd1;border-radius:.4rem}
button{width:100%;padding:.85rem;font:inherit;font-weight:600;color:#fff;background:#b3261e;
border:0;border-radius:.5rem}
.note{color:#57606a;font-size:.9rem}
"""


def form(*, token: str, number: str, summary: str, until: str, max_reason: int) -> str:
    """The question: three choices, an optional reason, the token posted back."""
    choices = "\n".join(
        f'<label class="choice"><input type="radio" name="rating" value="{escape(rating)}" '
        f"required>{escape(LABELS[rating])}</label>"
        for rating in CHOICES
    )
    return _document(
        f"""<p>工单 <strong>{escape(number)}</strong> 已办结。</p>
<p class="summary">{escape(summary)}</p>
<form method="post">
<input type="hidden" name="token" value="{escape(token)}">
<fieldset><legend>请对办理结果评价：</legend>
{choices}
</fieldset>
<label for="reason">意见或不满意的原因（选填，最多 {max_reason} 字）</label>
<textarea id="reason" name="reason" rows="4" maxlength="{max_reason}"></textarea>
<button type="submit">提交评价</button>
</form>
<p class="note">本链接 {escape(until)} 前有效，仅供您本人评价，请勿转发。</p>"""
    )


def message(*paragraphs: str) -> str:
    """A page that only says something: the thanks after an answer, or why there is no form."""
    return _document("\n".join(f"<p>{escape(text)}</p>" for text in paragraphs if text))


def _document(body: str) -> str:
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{escape(TITLE)}</title>
<style>{_STYLE}</style>
</head>
<body><main>
<h1>{escape(TITLE)}</h1>
{body}
</main></body>
</html>
"""
