"""Issue 16: a score is one model on the wire. What the scorer computes is what the API stores and serves, and no
second copy of a score's fields exists anywhere in the platform's code."""
import ast
from pathlib import Path

from sqlalchemy import Float

from cortexscore.jobs import CompleteRequest
from cortexscore.score import BenchmarkScore, ScoreNumbers
from submission_api.core.models import Job, ScoreRow, Submission
from submission_api.jobs import service as queue
from submission_api.leaderboard.schemas import ScoreCell
from submission_api.leaderboard.service import CELL_NUMBERS
from submission_api.submissions.schemas import ScoreEntry
from submission_api.submissions.service import new_submission_id, scores_of
from tests.cortexscore.test_score import scored

ROOT = Path(__file__).resolve().parents[3]


def test_a_score_scored_sent_and_stored_is_served_unchanged(session):
    submission = Submission(id=new_submission_id(), layout="tutorial", zip_key="k", zip_sha256="0" * 64, zip_size=1,
                            models=["m"], benchmarks=["Synthetic2026.IT-pls"])
    session.add(Job(submission=submission, model="m", benchmark="Synthetic2026.IT-pls", benchmark_version=1,
                    region="IT"))
    session.commit()
    lease = queue.claim(session, worker_id="w", lease_seconds=30, max_attempts=3, zip_url="http://x/{submission_id}")
    score = scored()
    # As the worker posts it and the API's router reads it.
    wire = CompleteRequest.model_validate_json(CompleteRequest(lease_token=lease.lease_token,
                                                               score=score).model_dump_json())
    queue.complete(session, lease.job_id, wire)
    [entry] = scores_of(session, submission).scores
    served = entry.model_dump(mode="json")
    assert {name: served[name] for name in BenchmarkScore.model_fields} == score.model_dump(mode="json")
    assert served["ceiling_error"] is None and served["provenance"]["per_split"] == [0.3, 0.5, None]
    # Webhooks leave the provenance out; every number stays.
    [brief] = scores_of(session, submission, with_provenance=False).scores
    assert brief.provenance is None and brief.model_dump(exclude={"provenance"}) == entry.model_dump(
        exclude={"provenance"})


def test_the_responses_and_the_table_take_their_score_fields_from_the_one_model():
    assert CompleteRequest.model_fields["score"].annotation is BenchmarkScore
    # Inherited, not declared again (provenance alone is redeclared: null where it is left out).
    assert issubclass(ScoreEntry, BenchmarkScore)
    assert set(ScoreEntry.__annotations__) & set(BenchmarkScore.model_fields) == {"provenance"}
    assert issubclass(ScoreCell, ScoreNumbers) and not set(ScoreCell.__annotations__) & set(ScoreNumbers.model_fields)
    assert CELL_NUMBERS == tuple(ScoreNumbers.model_fields)
    columns = ScoreRow.__table__.columns
    assert set(BenchmarkScore.model_fields) <= set(columns.keys())
    assert all(isinstance(columns[name].type, Float) for name in ScoreNumbers.model_fields)


def _hand_copies(path: Path) -> list[str]:
    """Where ``path`` spells out a score's fields again: a class annotating raw and ceiled, or one tuple, list,
    set, dict or call (but BenchmarkScore's own) naming raw, ceiled and ceiling_error."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ClassDef):
            names = {item.target.id for item in node.body
                     if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)}
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            names = {item.value for item in node.elts if isinstance(item, ast.Constant)}
        elif isinstance(node, ast.Dict):
            names = {key.value for key in node.keys if isinstance(key, ast.Constant)}
        elif isinstance(node, ast.Call) and ast.unparse(node.func) != "BenchmarkScore":  # making one is no copy
            names = {keyword.arg for keyword in node.keywords}
        else:
            continue
        wanted = {"raw", "ceiled"} if isinstance(node, ast.ClassDef) else {"raw", "ceiled", "ceiling_error"}
        if wanted <= names:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_second_copy_of_a_scores_fields():
    # The one model, and the tables that store it (their columns are written from and read into it).
    allowed = {ROOT / "shared/cortexscore/score.py", ROOT / "services/submission_api/core/models.py"}
    sources = [path for folder in ("shared/cortexscore", "services") for path in (ROOT / folder).rglob("*.py")
               if path not in allowed and "migrations" not in path.parts]
    assert [place for path in sources for place in _hand_copies(path)] == []
