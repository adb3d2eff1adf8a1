"""A class: its code and teacher key, students joining, attempts posted and ranked, the teacher's controls.

Every number a ranking uses is the server's (vacdemo.serving.flip), the browser sends only the picture and
the settings. Each call opens its own short transaction, so replicas sharing one PostgreSQL see one wall.
"""
import csv
import hashlib
import hmac
import io
import os
import re
import secrets
import time
import unicodedata
import zipfile
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..errors import VacdemoError
from .store import StoreError, attempts, classes, cleanup, connect, count, delete_class, students

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ"  # no I, L or O: never mistaken for 1 or 0 on a projector (23⁵ ≈ 6.4 M codes)
CODE_LEN = 5
CHALLENGES = {"smallest": "Fool the model with the smallest ε",
              "stealth": "Fool it and slip past the detector",
              "robust": "Fool the adversarially trained model"}
MAX_ATTEMPTS = 2000  # per class: a flood stops here
POST_GAP_S = 3.0  # per student: one post every 3 s
NICK_MAX = 20
EXPIRE_S = float(os.environ.get("VACDEMO_CLASS_EXPIRY_HOURS", 24)) * 3600  # after the class's last post


class ClassError(VacdemoError):
    """An unknown or ended class code, a wrong teacher key, a post too soon or too many: one line to show."""


@dataclass(frozen=True)
class ClassInfo:
    code: str
    challenge: str
    dataset: str
    hide_names: bool
    students: int
    attempts: int


@dataclass(frozen=True)
class Posted:
    id: int
    rank: int | None  # place in the current challenge's ranking (1 = best), None: it does not rank


def clean_nickname(raw: str | None) -> str | None:
    """1–20 visible characters: control and direction-changing characters removed (no right-to-left tricks),
    spaces collapsed; kept as text (the views escape it). None for an empty one."""
    if raw is None:
        return None
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", str(raw)[:1000]))  # tabs, newlines: one space
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp"))
    text = re.sub(" +", " ", text).strip()[:NICK_MAX].strip()
    return text or None


def check_code(code: str | None) -> str:
    code = (code or "").strip().upper()
    if not re.fullmatch(f"[{ALPHABET}]{{{CODE_LEN}}}", code):
        raise ClassError(f"That is not a class code: a code is {CODE_LEN} letters, e.g. KXPRT.")
    return code


def inert_cell(v):
    """A CSV cell a spreadsheet shows as text, never runs as a formula (a nickname "=HYPERLINK(…)")."""
    return "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Classroom:
    """The classes of one store (SQLite by default, PostgreSQL by URL)."""

    def __init__(self, url: str | None = None, expire_s: float = EXPIRE_S):
        self.engine = connect(url)
        self.expire_s = expire_s
        self.cleanup()

    @contextmanager
    def _tx(self):
        """One short transaction; a database failure becomes one clear line (StoreError), and a row whose class
        was ended meanwhile a ClassError."""
        try:
            with self.engine.begin() as c:
                yield c
        except IntegrityError:
            raise ClassError("This class has just ended: nothing was sent.") from None
        except SQLAlchemyError as e:
            raise StoreError(f"the class store is unavailable ({type(e).__name__})") from None

    def cleanup(self, now: float | None = None) -> int:
        """Delete the classes idle for longer than expire_s."""
        try:
            return cleanup(self.engine, self.expire_s, now)
        except SQLAlchemyError as e:
            raise StoreError(f"the class store is unavailable ({type(e).__name__})") from None

    # ------------------------------------------------------------------ classes
    def create(self, dataset: str, challenge: str = "smallest") -> tuple[str, str]:
        """A new class → (code, teacher key). The key is shown once, to the teacher, and stored hashed."""
        if challenge not in CHALLENGES:
            raise ClassError(f"unknown challenge {challenge!r}; choose one of {sorted(CHALLENGES)}")
        key, now = secrets.token_urlsafe(24), time.time()
        self.cleanup(now)  # the expired classes go when a new one starts (and at every server start)
        with self._tx() as c:
            for _ in range(20):
                code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LEN))
                if c.execute(select(classes.c.code).where(classes.c.code == code)).first() is None:
                    c.execute(insert(classes).values(code=code, key_hash=key_hash(key), challenge=challenge,
                                                     dataset=dataset, created=now, last_active=now, hide_names=False))
                    return code, key
        raise StoreError("no free class code after 20 tries")

    def info(self, code: str) -> ClassInfo:
        code = check_code(code)
        with self._tx() as c:
            row = c.execute(select(classes).where(classes.c.code == code)).first()
            if row is None or row.last_active < time.time() - self.expire_s:
                raise ClassError(f"There is no class {code} (it may have ended): check the code with your teacher.")
            return ClassInfo(code, row.challenge, row.dataset, row.hide_names, count(c, students, code),
                             count(c, attempts, code))

    def is_teacher(self, code: str, key: str | None) -> bool:
        """The teacher key of the class (compared in constant time); any failure is simply False."""
        if not key:
            return False
        try:
            code = check_code(code)
            with self._tx() as c:
                row = c.execute(select(classes.c.key_hash).where(classes.c.code == code)).first()
        except (ClassError, StoreError):
            return False
        return row is not None and hmac.compare_digest(row.key_hash, key_hash(key))

    def _teacher(self, code: str, key: str) -> str:
        if not self.is_teacher(code, key):
            raise ClassError("Only the teacher of this class can do that.")
        return check_code(code)

    # ------------------------------------------------------------------ students
    def join(self, code: str, session: str, nickname: str | None = None) -> int:
        """The student's id in the class (the same session joins once; a new nickname replaces the old)."""
        info = self.info(code)
        nick = clean_nickname(nickname)
        with self._tx() as c:
            row = c.execute(select(students.c.id).where(and_(students.c.code == info.code,
                                                               students.c.session == session))).first()
            if row is not None:
                c.execute(update(students).where(students.c.id == row.id).values(nickname=nick))
                return row.id
            return c.execute(insert(students).values(code=info.code, session=session, nickname=nick, hidden=False,
                                                     joined=time.time())).inserted_primary_key[0]

    def check_post(self, code: str, student: int, dataset: str, now: float | None = None, c=None) -> ClassInfo:
        """Refuse, in one line, a post this class would not take: another data set, too soon after the student's
        last one, or past the class's cap. Cheap: called before the attack runs, and again as it is stored."""
        info = self.info(code)
        if dataset != info.dataset:
            raise ClassError(f"This class plays on {info.dataset}: switch the data set to send.")
        now = now or time.time()
        with (self._tx() if c is None else nullcontext(c)) as c:
            last = c.execute(select(func.max(attempts.c.created)).where(attempts.c.student == student)).scalar()
            if last is not None and now - last < POST_GAP_S:
                raise ClassError(f"One post every {POST_GAP_S:g} s: wait {POST_GAP_S - (now - last):.0f} s and send again.")
            if count(c, attempts, info.code) >= MAX_ATTEMPTS:
                raise ClassError(f"This class has {MAX_ATTEMPTS} attempts, the most it keeps: ask your teacher to "
                                 "clear the wall.")
        return info

    def post(self, code: str, student: int, *, dataset: str, model: str, goal: str, target: int | None,
             flip_eps: float | None, label: int, after: int, caught: bool, x_png: bytes, adv_png: bytes,
             now: float | None = None) -> Posted:
        """Store an attempt (its figures the server's); → its id and its place in the current challenge. (Two
        posts of one student arriving together may both pass the gap: a cap, not a lock.)"""
        now = now or time.time()
        with self._tx() as c:
            info = self.check_post(code, student, dataset, now, c)
            new = c.execute(insert(attempts).values(
                code=info.code, student=student, created=now, challenge=info.challenge, dataset=dataset, model=model,
                goal=goal, target=target, flip_eps=flip_eps, label=label, after=after, caught=caught, x_png=x_png,
                adv_png=adv_png, hidden=False)).inserted_primary_key[0]
            c.execute(update(classes).where(classes.c.code == info.code).values(last_active=now))
        board = self.ranking(info.code, limit=None)
        rank = next((i + 1 for i, r in enumerate(board) if r["id"] == new), None)
        return Posted(new, rank)

    # ------------------------------------------------------------------ the wall
    def attempts(self, code: str, limit: int | None = None, teacher: bool = False, images: bool = True) -> list[dict]:
        """The class's attempts, newest first (hidden ones only for the teacher), with nicknames as shown;
        images=False leaves the PNGs in the store (the wall's figures need only the numbers)."""
        info = self.info(code)
        cols = [c for c in attempts.c if images or c.name not in ("x_png", "adv_png")]
        q = (select(*cols, students.c.nickname, students.c.hidden.label("name_hidden"))
             .join(students, students.c.id == attempts.c.student).where(attempts.c.code == info.code)
             .order_by(attempts.c.id.desc()))
        if not teacher:
            q = q.where(attempts.c.hidden.is_(False))
        if limit:
            q = q.limit(limit)
        with self._tx() as c:
            rows = [dict(r._mapping) for r in c.execute(q)]
        for r in rows:
            r["shown_name"] = None if (info.hide_names or r["name_hidden"]) else r["nickname"]
        return rows

    def ranking(self, code: str, limit: int = 10) -> list[dict]:
        """The current challenge's best attempt per student, best first: the smallest ε that fooled the model
        (stealth: with the alarm off; robust: on the adversarially trained model)."""
        info = self.info(code)
        ok = [attempts.c.code == info.code, attempts.c.hidden.is_(False), attempts.c.flip_eps > 0,  # 0: wrong already
              attempts.c.challenge == info.challenge]
        if info.challenge == "stealth":
            ok.append(attempts.c.caught.is_(False))
        ok.append(attempts.c.model == ("adv" if info.challenge == "robust" else "vac"))
        q = (select(attempts.c.id, attempts.c.student, attempts.c.flip_eps, attempts.c.created, students.c.nickname,
                    students.c.hidden.label("name_hidden"))
             .join(students, students.c.id == attempts.c.student).where(and_(*ok))
             .order_by(attempts.c.flip_eps, attempts.c.created))
        with self._tx() as c:
            rows = [dict(r._mapping) for r in c.execute(q)]
        best, seen = [], set()
        for r in rows:
            if r["student"] not in seen:
                seen.add(r["student"])
                r["shown_name"] = None if (info.hide_names or r["name_hidden"]) else r["nickname"]
                best.append(r)
        return best[:limit] if limit else best

    # ------------------------------------------------------------------ the teacher
    def hide_attempt(self, code: str, key: str, attempt: int, hidden: bool = True) -> None:
        code = self._teacher(code, key)
        with self._tx() as c:
            c.execute(update(attempts).where(and_(attempts.c.code == code, attempts.c.id == attempt))
                      .values(hidden=hidden))

    def hide_name(self, code: str, key: str, student: int, hidden: bool = True) -> None:
        code = self._teacher(code, key)
        with self._tx() as c:
            c.execute(update(students).where(and_(students.c.code == code, students.c.id == student))
                      .values(hidden=hidden))

    def hide_all_names(self, code: str, key: str, hidden: bool = True) -> None:
        code = self._teacher(code, key)
        with self._tx() as c:
            c.execute(update(classes).where(classes.c.code == code).values(hide_names=hidden))

    def clear(self, code: str, key: str) -> None:
        """Every attempt off the wall and out of the store (the students stay joined)."""
        code = self._teacher(code, key)
        with self._tx() as c:
            c.execute(delete(attempts).where(attempts.c.code == code))

    def set_challenge(self, code: str, key: str, challenge: str) -> None:
        code = self._teacher(code, key)
        if challenge not in CHALLENGES:
            raise ClassError(f"unknown challenge {challenge!r}; choose one of {sorted(CHALLENGES)}")
        with self._tx() as c:
            c.execute(update(classes).where(classes.c.code == code).values(challenge=challenge))

    def end(self, code: str, key: str) -> None:
        """The class and all its data, deleted."""
        code = self._teacher(code, key)
        with self._tx() as c:
            delete_class(c, code)

    def export(self, code: str, key: str) -> bytes:
        """The class's attempts as a ZIP: attempts.csv and each attempt's two PNGs."""
        code = self._teacher(code, key)
        rows = self.attempts(code, teacher=True)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            table = io.StringIO()
            cols = ["id", "created", "nickname", "challenge", "dataset", "model", "goal", "target", "flip_eps", "label",
                    "after", "caught", "hidden"]
            w = csv.DictWriter(table, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            for r in rows:
                w.writerow({k: inert_cell(v) for k, v in r.items()} |
                           {"created": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["created"]))})
                z.writestr(f"images/{r['id']:05d}-input.png", r["x_png"])
                z.writestr(f"images/{r['id']:05d}-attacked.png", r["adv_png"])
            z.writestr("attempts.csv", table.getvalue())
        return buf.getvalue()
