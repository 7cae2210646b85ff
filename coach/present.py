"""One presenter for every face: the CLI prints and the pages render these same strings.

Markdown for text (a terminal shows it as written, Streamlit renders it), HTML only where a page
needs marks a terminal cannot show (highlighted spans, a word diff); everything escaped.
"""

from __future__ import annotations

import difflib
import html


_ICONS = {"myth": "⚠", "signal": "•", "tone": "•", "form": "•"}


def safe_markdown(text: str) -> str:
    """Model output as Markdown that cannot load remote images (a way to leak text to a server)."""
    return text.replace("![", "!\\[")


# ---- Review (from Review.as_dict(), so a review saved in a chat renders the same way) ------------


def finding_lines(review: dict) -> list[str]:
    """One Markdown line per finding: what, where (the quoted words) and what to do."""
    out = []
    for f in review["findings"]:
        where = f' — "{f["quote"]}"' if f.get("quote") else ""
        out.append(f"{_ICONS[f['category']]} **{f['topic']}**{where}: {f['message']}")
    return out


# What the check on a rewrite does and does not vouch for: the detector finds no pitfall the instant
# analysis knows, the facts are kept; whether it reads well is the person's call (README: the default
# model's rewrites that pass are often still clumsy).
CHECKED = "checked: the instant analysis finds no pitfall in it, it asks clearly, it keeps every number, date and name"
READ_IT = "The check cannot tell whether it reads well: read it before you send it"


def review_markdown(review: dict) -> str:
    """A whole review as Markdown: verdict, what works, findings, then the checked rewrite or why none."""
    parts = [f"**{review['verdict']}**"]
    parts += [f"_{note}_" for note in review.get("notes", [])]
    if review.get("works"):
        parts.append("What works: " + ", ".join(review["works"]) + ".")
    lines = finding_lines(review)
    parts.append("\n".join(f"- {line}" for line in lines) if lines else "No pitfalls found.")
    if review.get("rewrite"):
        parts.append(f"**The coach's version** ({CHECKED}. {READ_IT})\n\n"
                     + "\n".join(f"> {line}" for line in review["rewrite"].splitlines()))
    elif review.get("note"):
        parts.append(f"_{review['note']}_")
    return "\n\n".join(parts)


def highlighted_html(review: dict) -> str:
    """The draft as HTML with each flagged span marked (title: the finding); everything escaped."""
    text = review["text"]
    spans = sorted((f["span"]["start"], f["span"]["end"], f["message"]) for f in review["findings"] if f.get("span"))
    out, pos = [], 0
    for start, end, label in spans:
        if start < pos:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(f'<mark title="{html.escape(label)}">{html.escape(text[start:end])}</mark>')
        pos = end
    out.append(html.escape(text[pos:]))
    return '<div style="white-space: pre-wrap; line-height: 1.6">' + "".join(out) + "</div>"


def diff_html(before: str, after: str) -> str:
    """A word diff of the draft and its rewrite: deletions struck through, insertions underlined."""
    a, b = before.split(" "), after.split(" ")
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b).get_opcodes():
        if op in ("delete", "replace"):
            out.append(f'<del style="color:#a33">{html.escape(" ".join(a[i1:i2]))}</del>')
        if op in ("insert", "replace"):
            out.append(f'<ins style="color:#275">{html.escape(" ".join(b[j1:j2]))}</ins>')
        if op == "equal":
            out.append(html.escape(" ".join(a[i1:i2])))
    return '<div style="white-space: pre-wrap; line-height: 1.6">' + " ".join(out) + "</div>"


# ---- Rehearse -----------------------------------------------------------------------------------

OUTCOME_WORDS = {
    "agreed": "Agreed: they said yes, because your turns met what they needed.",
    "open": "Open: no decision yet; some of their concerns were still unmet.",
    "refused": "Refused: they closed the conversation without agreeing.",
}


def strategy_name(key: str) -> str:
    return key.removeprefix("strategy-").capitalize()


def scorecard_markdown(card: dict) -> str:
    """The debrief as Markdown: outcome, the concerns revealed, scores with evidence, myths, advice."""
    out = []
    if card.get("outcome"):
        out.append(f"**{OUTCOME_WORDS[card['outcome']]}**")
    if card.get("concerns"):
        out.append("What was on their mind:")
        for c in card["concerns"]:
            mark = f"met in your turn {c['turn']}" if c["addressed"] else "not met"
            out.append(f"- {'✓' if c['addressed'] else '✗'} {c['text']} ({mark})")
    out.append("")
    for key, s in card["strategies"].items():
        evidence = f'your turn {s["turn"]}: "{s["evidence"]}"' if s["turn"] else "not shown"
        why = f" — {s['why']}." if s.get("why") else ""
        out.append(f"- **{strategy_name(key)}** {s['score']}/5{why} Evidence: {evidence}")
    if card["myths"]:
        out.append("")
        for m in card["myths"]:
            out.append(f'- ⚠ Fell into **{m["topic"]}** in your turn {m["turn"]}: "{m["quote"]}"')
    if card.get("improvements"):
        out += ["", "Next time:"]
        for i in card["improvements"]:
            where = f"Turn {i['turn']}: " if i.get("turn") else ""  # rehearsals saved before turns were recorded
            out.append(f"- {where}{i['advice']} `[{i['card']}]`")
    return "\n".join(out)


def hint_markdown(hint) -> str:
    """A hint: what to aim at, and the words to say (or why there are none)."""
    text = f"**Aim at:** {hint.aim}."
    if hint.line:
        text += f'\n\n**You could say:** "{hint.line}"'
    elif hint.note:
        text += f"\n\n_{hint.note}_"
    return text
