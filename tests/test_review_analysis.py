"""Review, stage 1: the instant analysis, measured on labelled drafts (no language model)."""

import pytest

from coach.analysis import MAX_DRAFT_CHARS, Analyzer
from coach.detector import MYTHS, Detector, DraftJudgment, SentenceJudgment
from coach.errors import InputError
from coach.evaluate import REVIEW_SETS, evaluate_review
from coach.profile import SuperiorProfile


@pytest.fixture(scope="module")
def analyzer(embeddings) -> Analyzer:
    return Analyzer(Detector(embeddings))


def test_the_blind_set_figures(analyzer):
    """103 drafts written blind (README: the figures, first blind and then after later changes).
    These floors are the measured figures, so a change that makes the detector worse fails here;
    they are below the issue's targets (recall 0.80, no clean draft flagged), which are not met.
    The whole-draft head, chosen by cross-validation on training data for precision first, moved
    this set from precision 0.91, recall 0.67 and 4 clean drafts flagged to 0.91, 0.58 and 2; 229 more
    training drafts (stop 26) to 0.91, 0.68 and 3: recall rose on every blind set, and a clean draft
    more was flagged here and in the fourth set, one fewer in the third. Stop 27, the whole-draft head
    held to the most recall at a cross-validated precision of 0.88: 0.90, 0.73 and 4."""
    f = evaluate_review(analyzer, REVIEW_SETS["blind"])
    print(f.as_dict())
    assert f.drafts == 103 and f.clean == 33
    assert f.overall.precision >= 0.90 and f.overall.recall >= 0.73
    assert len(f.clean_flagged) <= 4
    assert len(f.goals_on_rejection) <= 1


def test_the_second_blind_set_figures(analyzer):
    """77 drafts written blind after the sentence detector was final (80, less 3 that share a sentence
    with the training data); the floors are its measured figures, below the issue's targets (stop 26,
    after 229 more training drafts: precision 0.90 → 0.89, recall 0.68 → 0.76; stop 27, the head held to
    a cross-validated precision of 0.88: 0.89, 0.81, clean flagged 3 as before)."""
    f = evaluate_review(analyzer, REVIEW_SETS["blind2"])
    assert f.drafts == 77 and f.clean == 26
    assert f.overall.precision >= 0.89 and f.overall.recall >= 0.80
    assert len(f.clean_flagged) <= 3


def test_the_third_blind_set_figures(analyzer):
    """96 drafts written blind before the whole-draft head was trained, and committed before its first
    run: precision 0.93, recall 0.78, 3 of 28 clean drafts flagged. These floors are the figures after
    195 harder training drafts were added (no longer blind): 0.94, 0.73 and 2; after 229 more (stop
    26): 0.98, 0.78 and 1; stop 27, the head held to a cross-validated precision of 0.88: 0.96, 0.84, 1."""
    f = evaluate_review(analyzer, REVIEW_SETS["blind3"])
    print(f.as_dict())
    assert f.drafts == 96 and f.clean == 28
    assert f.overall.precision >= 0.95 and f.overall.recall >= 0.84
    assert len(f.clean_flagged) <= 1
    assert f.goals_on_rejection == []


def test_the_fourth_blind_set_figures(analyzer):
    """90 drafts written blind and committed before any run (stop 26); 3 removed after the first runs
    for sharing a sentence with the older training data. On the 87: before the 229 new training
    drafts, precision 0.96, recall 0.67, no clean draft flagged; after, 0.91, 0.71 and 1 of 25; stop 27,
    the head held to a cross-validated precision of 0.88: 0.91, 0.77 and 1."""
    f = evaluate_review(analyzer, REVIEW_SETS["blind4"])
    print(f.as_dict())
    assert f.drafts == 87 and f.clean == 25
    assert f.overall.precision >= 0.90 and f.overall.recall >= 0.77
    assert len(f.clean_flagged) <= 1
    assert len(f.goals_on_rejection) <= 2


def test_the_fifth_blind_set_figures(analyzer):
    """89 drafts written blind and committed before any run (stop 27; one removed before that run for a
    sentence word for word in the training data). First run of the stop 26 detector: precision 0.98,
    recall 0.79, no clean draft of 24 flagged. First run of stop 27's whole-draft head (the most recall
    at a cross-validated precision of 0.88, chosen on training drafts before this set was run): 0.94,
    0.83, and 2 clean drafts flagged. These floors are that second figure."""
    f = evaluate_review(analyzer, REVIEW_SETS["blind5"])
    print(f.as_dict())
    assert f.drafts == 89 and f.clean == 24
    assert f.overall.precision >= 0.94 and f.overall.recall >= 0.82
    assert len(f.clean_flagged) <= 2
    assert len(f.goals_on_rejection) <= 2


@pytest.mark.parametrize("name, precision, recall, clean_flagged", [
    # Stop 27's whole-draft head (most recall at a precision of 0.88) flags more of these clean drafts:
    # labelled 0 → 3 of 10, heldout 2 → 3 of 10; recall unchanged.
    ("labelled", 0.91, 0.93, 3), ("heldout", 0.88, 0.95, 3),
])
def test_the_older_sets_as_regression_tests(analyzer, name, precision, recall, clean_flagged):
    f = evaluate_review(analyzer, REVIEW_SETS[name])
    print(name, f.as_dict())
    assert f.overall.precision >= precision and f.overall.recall >= recall
    assert len(f.clean_flagged) <= clean_flagged


def test_each_finding_points_at_the_words_that_cause_it(analyzer):
    text = ("Hi Dana, I'm so sorry to bother you yet again about this. Whatever you decide on pricing is fine "
            "by me, just tell me what to do.")
    result = analyzer.analyze(text)
    assert {m.topic for m in result.myths} == {"myth-fear", "myth-just-execute"}
    for finding in result.findings:
        if finding.span:
            assert text[finding.span.start:finding.span.end] == finding.span.quote
    assert "sorry to bother" in {m.topic: m for m in result.myths}["myth-fear"].span.quote


def test_a_healthy_draft_shows_what_works_and_no_myth(analyzer):
    good = analyzer.analyze(
        "Hi Dana, the vendor will slip two days. I recommend we switch to the backup supplier, which "
        "keeps your Q3 launch date. Can you approve by Friday?"
    )
    assert good.myths == []
    assert all(good.has(k) for k in ("clear_ask", "options_or_recommendation", "connects_to_goals"))
    assert "Can you approve by Friday?" in good.signals["clear_ask"].span.quote


class ScriptedDetector:
    """Judges each sentence by the labels the test gives it, so the finding logic is tested on its own
    (the detector's own accuracy is measured on the blind sets above)."""

    def __init__(self, labels: dict[str, set[str]]) -> None:
        self.labels = labels

    def judge(self, texts):
        out = []
        for text in texts:
            on = next((set(v) for k, v in self.labels.items() if k in text), set())
            on |= {"healthy"} if not on & {"myth-just-execute", "myth-independent-work", "myth-fear"} else set()
            out.append(SentenceJudgment(text, {label: 1.0 for label in on}, frozenset(on)))
        return out

    def judge_draft(self, text, judged):
        """The draft carries the myths its sentences were given."""
        myths = {m for j in judged for m in j.labels if m in MYTHS}
        return DraftJudgment({m: float(m in myths) for m in MYTHS}, frozenset(myths))


def scripted(**labels) -> Analyzer:
    return Analyzer(ScriptedDetector({k.replace("_", " "): v for k, v in labels.items()}))


def test_a_bare_problem_gets_no_ask_and_no_options():
    a = scripted(vendor={"raises_problem"}).analyze("The vendor is late again and the build is broken.")
    codes = {f.code for f in a.findings}
    assert {"no-clear-ask", "problem-without-options"} <= codes
    owned = scripted(vendor={"raises_problem", "owns_problem"}).analyze("The vendor is late; I've booked the backup.")
    assert "problem-without-options" not in {f.code for f in owned.findings}


def test_feedback_without_a_suggestion_and_blame():
    text = "Your approval process is far too slow. Finance never tells us anything, so this is their fault."
    a = scripted(approval={"feedback_to_superior", "raises_problem"}, Finance={"blame"}).analyze(text)
    codes = {f.code: f for f in a.findings}
    assert {"feedback-not-constructive", "blame"} <= set(codes)
    assert codes["blame"].span.quote.startswith("Finance never tells us")
    with_fix = scripted(approval={"feedback_to_superior", "constructive_suggestion"}).analyze(
        "Could your approval process have a threshold under which the team decides?")
    assert "feedback-not-constructive" not in {f.code for f in with_fix.findings}


def test_the_whole_draft_decides_and_the_finding_points_at_the_likeliest_sentence(analyzer):
    text = ("Hi Lena, quick one. The Baxter shipment might be running a little behind. Probably nothing to "
            "worry about, I'm sure it will sort itself out.")
    a = analyzer.analyze(text)
    [finding] = a.myths
    assert finding.topic == "myth-fear" and finding.how.startswith("detector, whole draft (p=")
    assert finding.span.quote.startswith("Probably nothing to worry about")


@pytest.mark.parametrize("text", [
    "I need to run it by you to make sure it meets your priorities and connects to what you need.",
    "I want to make sure this fits your priorities for the quarter; can we go through them on Monday?",
    "Before I plan the next sprint, what matters most to you for the board review?",
    "I'll check the campaign calendar and see if it lines up with your priorities.",
])
def test_serving_the_superiors_goals_is_not_the_independent_work_myth(analyzer, text):
    """Talking about the superior's goals is not the myth; setting them aside is (docs/labels.md)."""
    assert analyzer.analyze(text).myths == []


def test_a_recommendation_then_the_superiors_call_is_not_a_myth(analyzer):
    text = ("Two vendors quoted for the badge readers: Kestrel at 14k, Omnis at 11k without support. I recommend "
            "Kestrel because support covers the Paris site. Your call, of course; can you confirm by Friday?")
    assert analyzer.analyze(text).myths == []


def test_length_and_format_against_the_profile(analyzer):
    profile = SuperiorProfile(name="Dana", update_detail="short, bullet points and a clear ask")
    long_prose = "The migration is going well and the team is making steady progress on the plan. " * 15
    codes = {f.code for f in analyzer.analyze(long_prose, profile).findings}
    assert {"too-long", "no-bullets"} <= codes
    assert "too-long" not in {f.code for f in analyzer.analyze(long_prose).findings}


def test_goal_words_from_the_profile_count_as_a_link_to_their_goals(analyzer):
    profile = SuperiorProfile(goals="reduce customer churn before the renewal season")
    plain = analyzer.analyze("The new onboarding emails cut churn by 3% in the pilot group last month.")
    with_profile = analyzer.analyze("The new onboarding emails cut churn by 3% in the pilot group last month.", profile)
    assert with_profile.signals["connects_to_goals"].present
    assert with_profile.signals["connects_to_goals"].note == "uses the goals in your profile" or plain.has("connects_to_goals")


@pytest.mark.parametrize("text", ["", "   \n "])
def test_empty_draft_is_refused(analyzer, text):
    with pytest.raises(InputError, match="empty"):
        analyzer.analyze(text)


def test_oversized_draft_is_refused_with_the_limit(analyzer):
    with pytest.raises(InputError) as caught:
        analyzer.analyze("word " * 25_000)
    assert f"{MAX_DRAFT_CHARS:,}" in caught.value.message


@pytest.mark.parametrize("text", ["https://example.com/q3-plan", "🙂🙂🙂", "👍"])
def test_only_a_url_or_emoji_gets_a_note_not_a_crash(analyzer, text):
    result = analyzer.analyze(text)
    assert result.myths == [] and "no message to review" in result.notes[0]


def test_non_english_text_gets_a_note(analyzer):
    result = analyzer.analyze("Bonjour Claire, je voudrais discuter du budget du troisième trimestre avec vous demain.")
    assert any("English" in n for n in result.notes)
