"""Finding units in notice text and resolving them against the office's registry.

A notice names a unit in many ways: "Phòng Giáo dục và Đào tạo", "phòng GD&ĐT", "Phòng
Giáo dục - Đào tạo", "Văn phòng HĐND-UBND huyện"; by a collective ("UBND các xã, thị
trấn", "các đơn vị có liên quan", "các trường"); through a person ("Chủ tịch UBND các xã",
"Hiệu trưởng các trường THPT"); elliptically ("UBND các huyện Quỳnh Lưu, Diễn Châu").
Matching runs on canonical words: folded, abbreviations expanded, "và" and soft punctuation
dropped, so all of those meet the registry's names, short names and aliases. The longest
match wins. A unit-like phrase that the registry does not know is kept as unresolved text
with the nearest registry entries as suggestions, never dropped and never guessed.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from bot.domain.deadlines import fold_keep_length
from bot.domain.enums import UnitKind

__all__ = ["Category", "Mention", "Target", "UnitRef", "UnitResolver", "canonical_words"]


@dataclass(frozen=True)
class UnitRef:
    """A registry unit as the importer needs it; built from storage or from seed YAML."""

    code: str
    name: str
    short_name: str = ""
    aliases: tuple[str, ...] = ()
    kind: UnitKind = UnitKind.KHAC
    sectors: tuple[str, ...] = ()


class Category(StrEnum):
    UNIT = "unit"  # a named unit (resolved or not)
    RELATED = "related"  # "các đơn vị có liên quan": cooperating, never a lead on its own
    VAGUE = "vague"  # "các cơ quan, đơn vị", "các phòng, ngành trong khối": nobody in particular
    AUTHORITY = "authority"  # the issuing committee or above: gives work, never receives it


@dataclass(frozen=True)
class Target:
    code: str | None  # None: not in the registry
    text: str
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str
    category: Category
    targets: tuple[Target, ...] = field(default=())


# --- canonical words ---------------------------------------------------------------------------

# Abbreviations as offices write them, folded, with "&", "-" and "." removed.
_ABBREVIATIONS: dict[str, str] = {
    "gddt": "giao duc dao tao",
    "ldtbxh": "lao dong thuong binh xa hoi",
    "vhtt": "van hoa thong tin",
    "tckh": "tai chinh ke hoach",
    "khtc": "ke hoach tai chinh",
    "ttyt": "trung tam y te",
    "bhxh": "bao hiem xa hoi",
    "bhyt": "bao hiem y te",
    "nhcsxh": "ngan hang chinh sach xa hoi",
    "csxh": "chinh sach xa hoi",
    "hdnd": "hoi dong nhan dan",
    "ubnd": "uy ban nhan dan",
    "hdndubnd": "hoi dong nhan dan uy ban nhan dan",
    "ub": "uy ban",
    "thpt": "trung hoc pho thong",
    "thcs": "trung hoc co so",
    "tnmt": "tai nguyen moi truong",
    "nnptnt": "nong nghiep phat trien nong thon",
    "snnptnt": "so nong nghiep phat trien nong thon",
    "ptnt": "phat trien nong thon",
    "ktht": "kinh te ha tang",
    "khdt": "ke hoach dau tu",
    "gtvt": "giao thong van tai",
    "ubmttq": "uy ban mat tran to quoc",
    "mttq": "mat tran to quoc",
    "bchqs": "ban chi huy quan su",
    "chqs": "chi huy quan su",
    "bqlda": "ban quan ly du an",
    "qlda": "quan ly du an",
    "dtxd": "dau tu xay dung",
    "gdnn": "giao duc nghe nghiep",
    "gdtx": "giao duc thuong xuyen",
    "gdnngdtx": "giao duc nghe nghiep giao duc thuong xuyen",
    "vhttttdl": "van hoa thong tin the thao du lich",
    "vhttdl": "van hoa the thao du lich",
    "vhtttt": "van hoa the thao truyen thong",
    "tttt": "thong tin truyen thong",
    "cntt": "cong nghe thong tin",
    "pctt": "phong chong thien tai",
    "tkcn": "tim kiem cuu nan",
    "pccc": "phong chay chua chay",
    "qltt": "quan ly thi truong",
    "qldt": "quan ly do thi",
    "qlttdt": "quan ly trat tu do thi",
    "ptqd": "phat trien quy dat",
    "ntm": "nong thon moi",
    "mtqg": "muc tieu quoc gia",
    "gdtrh": "giao duc trung hoc",
    "tccb": "to chuc can bo",
    "bvdk": "benh vien da khoa",
    "bvtv": "bao ve thuc vat",
    "ttbvtv": "trong trot bao ve thuc vat",
    "cnty": "chan nuoi thu y",
    "tx": "thi xa",
    "tp": "thanh pho",
    "vp": "van phong",
    "bcd": "ban chi dao",
    "bch": "ban chi huy",
    "ttgdnn": "trung tam giao duc nghe nghiep",
    "kbnn": "kho bac nha nuoc",
    "sgddt": "so giao duc dao tao",
    "ktkdclgd": "khao thi kiem dinh chat luong giao duc",
    "kdclgd": "kiem dinh chat luong giao duc",
}
_SKIP_WORDS = frozenset({"va"})
_SOFT_PUNCT = frozenset({",", "-", "–", "—", "&", "/", "+"})
_HARD = "|"  # a word that ends every match: . ; : ( ) and line breaks

_TOKEN = re.compile(r"\w+(?:[&.\-]\w+)*\.?|[^\w\s]")


@lru_cache(maxsize=2048)
def _fold(text: str) -> str:
    return fold_keep_length(unicodedata.normalize("NFC", text))


def _expand(folded_token: str) -> list[str]:
    """Canonical words of one folded token ("gd&dt" → giao duc dao tao)."""
    bare = folded_token.rstrip(".")
    if bare in _SKIP_WORDS:
        return []
    squashed = re.sub(r"[&.\-]", "", bare)
    if squashed in _ABBREVIATIONS:
        return _ABBREVIATIONS[squashed].split()
    if squashed != bare:
        words: list[str] = []
        for part in re.split(r"[&.\-]+", bare):
            if part:
                words.extend(_expand(part))
        return words
    return [bare] if bare else []


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    text: str  # original
    folded: str
    words: tuple[str, ...]  # canonical words; (_HARD,) for hard punctuation; () for soft


@lru_cache(maxsize=512)
def _tokens(text: str) -> tuple[_Token, ...]:
    folded = _fold(text)
    out = []
    for match in _TOKEN.finditer(folded):
        start, end = match.span()
        piece = match.group(0)
        if re.fullmatch(r"\w+(?:[&.\-]\w+)*\.?", piece):
            words = tuple(_expand(piece))
        elif piece in _SOFT_PUNCT:
            words = ()
        else:
            words = (_HARD,)
        out.append(_Token(start, end, text[start:end], piece, words))
    return tuple(out)


def canonical_words(text: str) -> tuple[str, ...]:
    """The words matching compares: folded, abbreviations expanded, "và" and commas gone."""
    return tuple(w for token in _tokens(text) for w in token.words if w != _HARD)


# --- phrase patterns (folded text) ---------------------------------------------------------------

_GROUP_NOUNS = (
    r"(?:co\s+quan|don\s+vi|phong|ban|nganh|so|dia\s+phuong|doan\s+the|to\s+chuc|hoi|cap)"
)
_COMMUNE = re.compile(
    r"(?:(?:ubnd|uy\s+ban\s+nhan\s+dan)\s+)?cac\s+(?:xa|phuong|thi\s+tran)"
    r"(?:\s*(?:,|va)\s*(?:cac\s+)?(?:xa|phuong|thi\s+tran))*"
    r"(?:\s+tren\s+dia\s+ban(?:\s+(?:huyen|tinh|thi\s+xa|thanh\s+pho))?)?(?!\w)"
)
_SCHOOL_LEVEL = (
    r"(?:mam\s+non|tieu\s+hoc|thcs|thpt|trung\s+hoc\s+co\s+so|trung\s+hoc\s+pho\s+thong)"
)
_SCHOOL = re.compile(
    rf"cac\s+(?:nha\s+)?truong(?:\s+hoc)?(?:\s+{_SCHOOL_LEVEL}(?:\s*(?:,|va)\s*{_SCHOOL_LEVEL})*)?"
    r"(?:\s+(?:tren\s+dia\s+ban|truc\s+thuoc|thuoc)(?:\s+(?:huyen|tinh|so))?)?(?!\w)"
)
_RELATED = re.compile(
    rf"cac\s+{_GROUP_NOUNS}(?:\s*(?:,|va)\s*(?:cac\s+)?{_GROUP_NOUNS})*"
    r"\s+(?:co\s+)?lien\s+quan(?!\w)"
)
_ORGS = re.compile(
    r"cac\s+(?:(?:doan\s+the|to\s+chuc)(?:\s+chinh\s+tri\s*-?\s*xa\s+hoi)?"
    r"|hoi\s*,\s*doan\s+the(?:\s+chinh\s+tri\s*-?\s*xa\s+hoi)?)"
    r"(?:\s+(?:huyen|tinh|thi\s+xa|thanh\s+pho|xa))?(?!\w)"
)
_VAGUE = re.compile(
    rf"cac\s+{_GROUP_NOUNS}(?:\s*(?:,|va)\s*(?:cac\s+)?{_GROUP_NOUNS})*"
    r"(?:\s+(?:trong\s+khoi|thuoc\s+khoi(?:\s+[\w]+){0,3}|chuyen\s+mon|thuoc\s+ubnd(?:\s+\w+)?"
    r"|thuoc\s+so|truc\s+thuoc|tren\s+dia\s+ban|thanh\s+vien))?(?!\w)"
)
# "UBND các huyện Quỳnh Lưu, Diễn Châu và Nghi Lộc": one level word for several places.
_ELLIPSIS = re.compile(
    r"(?P<head>(?:ubnd|uy\s+ban\s+nhan\s+dan)\s+)?cac\s+(?P<level>xa|phuong|huyen|thi\s+xa"
    r"|thanh\s+pho|thi\s+tran|quan|thon)\s*:?\s+(?=\S)"
)
_PERSON_PREFIX = re.compile(
    r"(?:(?:đồng chí|đ/c)\s+)?(?:thủ trưởng|lãnh đạo|người đứng đầu|phó trưởng|trưởng|phó giám đốc"
    r"|giám đốc|phó chủ tịch|chủ tịch|hiệu trưởng|chánh văn phòng|trưởng phòng|trưởng ban"
    r"|chi cục trưởng|công chức)(?:\s*,\s*(?:phó\s+)?(?:thủ trưởng|chủ tịch|hiệu trưởng|giám đốc"
    r"|trưởng))*\s+(?=\S)"
)
# Nouns that open a unit's name; used for units the registry does not know.
_HEADS = re.compile(
    r"(?:van\s+phong|trung\s+tam|phong|ban|so|chi\s+cuc|cuc|cong\s+an|benh\s+vien|huyen\s+doan"
    r"|tinh\s+doan|thanh\s+doan|doan\s+thanh\s+nien|lien\s+doan|kho\s+bac|chi\s+nhanh|ngan\s+hang"
    r"|bao\s+hiem|dien\s+luc|cong\s+ty|thanh\s+tra|tram|hop\s+tac\s+xa|truong|hoi|doi|hat"
    r"|uy\s+ban|ubnd|ubmttq|mttq|vien|toa\s+an|buu\s+dien|viettel|vnpt|nha\s+may|xi\s+nghiep)(?!\w)"
)
# Words that start like a unit but are not one ("Trường hợp", "Phòng, chống", "Hội nghị").
_FALSE_HEADS = re.compile(
    r"(?:truong\s+hop|phong\s*,?\s+chong|phong\s+ngua|phong\s+tranh|ban\s+hanh|so\s+lieu"
    r"|so\s+luong|so\s+sanh|hoi\s+nghi|hoi\s+thao|hoi\s+dap|hoi\s+vien|doi\s+voi|doi\s+tuong"
    r"|doi\s+song|doi\s+moi|cuc\s+bo|vien\s+chuc|vien\s+phi|hat\s+giong|tram\s+trong)(?!\w)"
)
# Heads that are a whole name on their own ("Công an huyện", "Thanh tra tỉnh").
_SELF_NAMED_HEADS = frozenset({"cong an", "thanh tra", "dien luc", "viettel", "vnpt", "kho bac"})
_LEVEL_WORDS = ("thi xa", "thanh pho", "thi tran", "huyen", "tinh", "quan", "xa", "phuong")

# Lower-case words after which a unit's name has ended and the action begins. Names
# have lower-case syllables too ("Lao động", "Tài nguyên", "đô thị"), so single syllables
# only stop a name when they are prepositions or particles; verbs are matched as pairs.


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP_BIGRAMS = _wordset(
    """
    phoi_hop chu_tri co_trach chiu_trach tham_muu thuc_hien to_chuc trien_khai khan_truong
    tiep_tuc xay_dung ra_soat kiem_tra huong_dan theo_doi bao_cao chi_dao chu_dong hoan_thanh
    can_cu tren_co tang_cuong day_manh dam_bao bao_dam bo_tri ban_hanh de_xuat tong_hop
    nghien_cuu quan_tam giai_quyet xu_ly tuyen_truyen van_dong thong_bao cung_cap phan_bo
    can_doi don_doc giam_sat thong_ke cap_nhat xac_minh danh_gia tiep_nhan tham_gia chuan_bi
    bo_sung dieu_chinh hoan_thien duy_tri nang_cao huy_dong tap_trung uu_tien khac_phuc ho_tro
    tiep_thu phan_cong dieu_tra khao_sat thi_cong nghiem_thu quyet_toan thanh_toan giai_ngan
    chi_tra cuong_che tham_dinh phe_duyet dang_ky di_doi kien_toan sap_xep lap_lai ra_quan
    thuong_xuyen dinh_ky khan_cap kip_thoi nghiem_tuc lam_viec lam_dau
    """
)
# Prepositions and particles; syllables that also occur inside names ("Kiểm lâm", "cán
# bộ", "bảo vệ", "trật tự") are deliberately absent.
_PREPOSITIONS = _wordset(
    """
    voi cua tai de trong den theo da dang se phai duoc bi nhu ma nay khi neu hoac cung con
    chua nhung cac gui nop xet dua ngay sau truoc trinh lap
    """
)
_REPORTING_AFTER_SUBJECT = re.compile(
    r"(?:da|dang|se|chua|van|con|cung|duoc|bi|co\s+y\s+kien|de\s+nghi|de\s+xuat|kien\s+nghi"
    r"|la(?!\s+(?:co\s+quan|don\s+vi)\s+(?:thuong\s+truc|dau\s+moi|chu\s+tri))"
    r"|phan\s+anh|neu|trinh\s+bay|cho\s+biet|tiep\s+thu|thong\s+bao|ghi\s+nhan|tham\s+du"
    r"|du\s+hop|gom|dat|co(?!\s+trach))(?!\w)"
)
_AMBIGUOUS_PARTICLES = {
    "van": "vẫn", "dang": "đang", "da": "đã", "con": "còn", "chua": "chưa", "cung": "cũng",
    "bi": "bị", "dat": "đạt", "gom": "gồm", "se": "sẽ", "co": "có", "la": "là", "neu": "nêu",
}  # fmt: skip
_AUTHORITY = re.compile(
    r"(?:(?:pho\s+)?chu\s+tich(?:\s+thuong\s+truc)?\s+)?(?:(?:ubnd|uy\s+ban\s+nhan\s+dan|hdnd"
    r"|hoi\s+dong\s+nhan\s+dan|thuong\s+truc(?:\s+(?:hdnd|ubnd))?|ban\s+thuong\s+vu"
    r"|huyen\s+uy|tinh\s+uy|thanh\s+uy|thi\s+uy|dang\s+uy|chinh\s+phu|thu\s+tuong)"
    r"(?:\s+(?P<level>thi\s+xa|thanh\s+pho|thi\s+tran|huyen|tinh|xa|phuong|quan))?"
    r"|(?:pho\s+)?chu\s+tich(?:\s+(?P<level2>thi\s+xa|thanh\s+pho|huyen|tinh|xa|phuong))?)"
    r"(?P<rest>(?:\s+[\w]+){0,3})$"
)
_LEVEL_RANK = {
    "xa": 1, "phuong": 1, "thi tran": 1, "thon": 0,
    "huyen": 2, "quan": 2, "thi xa": 2, "thanh pho": 2,
    "tinh": 3,
}  # fmt: skip


def level_rank(level: str | None) -> int | None:
    if level is None:
        return None
    return _LEVEL_RANK.get(re.sub(r"\s+", " ", level))


@dataclass
class _Node:
    """A trie node over canonical words; `codes` are the units whose form ends here."""

    children: dict[str, _Node] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)


class UnitResolver:
    """Matches unit phrases in text against a registry of `UnitRef`s."""

    def __init__(
        self, units: Sequence[UnitRef], *, issuer_rank: int = 2, place: str | None = None
    ) -> None:
        self.units = {unit.code: unit for unit in units}
        self.issuer_rank = issuer_rank
        self._place_words = canonical_words(place) if place else ()
        self._trie = _Node()
        self._forms: list[tuple[str, str]] = []  # (canonical string, code) for suggestions
        for unit in units:
            for form in (unit.name, unit.short_name, *unit.aliases):
                if form:
                    self._add(form, unit.code)
        self._related = self._related_unit()
        self._communes = [
            u.code
            for u in units
            if u.kind is UnitKind.XA_THI_TRAN and _fold(u.name).startswith(("ubnd cac", "cac "))
        ]
        self._schools = [
            u.code
            for u in units
            if u.kind is UnitKind.TRUONG and _fold(u.name).startswith(("cac ",))
        ]

    # -- registry ------------------------------------------------------------------------

    def _add(self, form: str, code: str) -> None:
        words = canonical_words(form)
        variants = {words}
        # Registries write the full name ("Chi nhánh Văn phòng Đăng ký đất đai huyện Krông
        # Pắc"); a notice of that district leaves its own place out ("... đất đai huyện").
        place = self._place_words
        if place and len(words) > len(place) + 1 and words[-len(place) :] == place:
            words = words[: -len(place)]
            variants.add(words)
        for level in _LEVEL_WORDS:
            level_words = tuple(level.split())
            if len(words) > len(level_words) + 1 and words[-len(level_words) :] == level_words:
                variants.add(words[: -len(level_words)])
        for variant in variants:
            node = self._trie
            for word in variant:
                node = node.children.setdefault(word, _Node())
            if code not in node.codes:
                node.codes.append(code)
            self._forms.append((" ".join(variant), code))

    def _related_unit(self) -> str | None:
        """The registry's "các đơn vị có liên quan", if it keeps one."""
        for unit in self.units.values():
            forms = [_fold(f) for f in (unit.name, unit.short_name, *unit.aliases) if f]
            if any("lien quan" in f for f in forms):
                return unit.code
        return None

    def suggestions(self, text: str, limit: int = 3) -> tuple[str, ...]:
        """Registry codes nearest to `text`, best first, for a reviewer to pick from.

        difflib rather than rapidfuzz: it is in the standard library, a registry holds tens
        to a few hundred forms (speed is moot), and what makes "phòng GD-ĐT" meet "Phòng
        Giáo dục và Đào tạo" is the canonical form (abbreviations expanded), not the scorer.
        Word overlap backs the character ratio up for reordered names.
        """
        key = " ".join(canonical_words(text))
        if not key:
            return ()
        key_words = set(key.split())
        scored: dict[str, float] = {}
        for form, code in self._forms:
            ratio = difflib.SequenceMatcher(None, key, form).ratio()
            form_words = set(form.split())
            overlap = len(key_words & form_words) / max(1, len(key_words | form_words))
            score = max(ratio, overlap)
            if score > scored.get(code, 0.0):
                scored[code] = score
        ranked = sorted(scored.items(), key=lambda item: -item[1])
        return tuple(code for code, score in ranked[:limit] if score >= 0.5)

    def _trie_match(self, text: str, pos: int) -> tuple[int, list[str]] | None:
        """Longest registry form starting at `pos`: (end offset, codes)."""
        tokens = _tokens(text)
        index = next((i for i, t in enumerate(tokens) if t.start >= pos), None)
        if index is None or tokens[index].start != pos or not tokens[index].words:
            return None
        node = self._trie
        best: tuple[int, list[str]] | None = None
        for token in tokens[index:]:
            if not token.words:
                continue  # soft punctuation inside a name
            if token.words == (_HARD,):
                break
            ok = True
            for word in token.words:
                nxt = node.children.get(word)
                if nxt is None:
                    ok = False
                    break
                node = nxt
            if not ok:
                break
            if node.codes:
                best = (token.end, list(node.codes))
        if best is None:
            return None
        return self._extend_level(text, best[0]), best[1]

    def _extend_level(self, text: str, end: int) -> int:
        """Swallow a trailing "huyện" / "tỉnh Nghệ An" the registry form left out."""
        folded = _fold(text)
        match = re.match(r"\s+(?:thi\s+xa|thanh\s+pho|huyen|tinh|quan)(?!\w)", folded[end:])
        if match is None:
            return end
        new_end = end + match.end()
        if self._place_words:
            place = " ".join(self._place_words)
            after = " ".join(canonical_words(text[new_end : new_end + 40]))
            if after.startswith(place):
                tokens = [t for t in _tokens(text) if t.start >= new_end][: len(self._place_words)]
                if tokens:
                    new_end = tokens[-1].end
        return new_end

    # -- mentions ------------------------------------------------------------------------

    def match_at(self, text: str, pos: int, *, role: str = "lead") -> Mention | None:
        """The unit phrase starting at `pos` (after spaces), or None."""
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return None
        mention = self._match_here(text, pos, role)
        if mention is None:
            prefix = _PERSON_PREFIX.match(text[pos:].lower())
            if prefix is not None:
                inner = self._match_here(text, pos + prefix.end(), role)
                if inner is not None:
                    mention = Mention(
                        pos, inner.end, text[pos : inner.end], inner.category, inner.targets
                    )
        if mention is None:
            mention = self._pattern_unit(text, pos)
        if mention is None:
            return None
        if mention.category is Category.UNIT and self._is_authority(mention):
            return Mention(mention.start, mention.end, mention.text, Category.AUTHORITY)
        return mention

    def _match_here(self, text: str, pos: int, role: str) -> Mention | None:
        folded = _fold(text)
        registry = self._trie_match(text, pos)
        ellipsis = self._ellipsis(text, pos)
        if ellipsis is not None and (registry is None or ellipsis.end > registry[0]):
            return ellipsis
        best_collective: tuple[int, str] | None = None
        for name, pattern in (
            ("commune", _COMMUNE),
            ("school", _SCHOOL),
            ("related", _RELATED),
            ("orgs", _ORGS),
            ("vague", _VAGUE),
        ):
            match = pattern.match(folded, pos)
            if match and (best_collective is None or match.end() > best_collective[0]):
                best_collective = (match.end(), name)
        if registry is not None and (best_collective is None or registry[0] >= best_collective[0]):
            end, codes = registry
            return Mention(
                pos,
                end,
                text[pos:end],
                self._category_of(codes),
                self._targets(codes, text[pos:end]),
            )
        if best_collective is None:
            return None
        end, name = best_collective
        span = text[pos:end]
        if registry is not None:  # a registry collective written with a longer tail
            codes = registry[1]
            return Mention(pos, end, span, self._category_of(codes), self._targets(codes, span))
        return self._collective(pos, end, span, name, role)

    def _category_of(self, codes: list[str]) -> Category:
        if len(codes) == 1 and codes[0] == self._related:
            return Category.RELATED
        return Category.UNIT

    def _targets(self, codes: list[str], text: str) -> tuple[Target, ...]:
        if len(codes) == 1:
            return (Target(codes[0], text),)
        return (Target(None, text, tuple(codes)),)  # ambiguous: let a person choose

    def _collective(self, start: int, end: int, span: str, name: str, role: str) -> Mention:
        if name == "related" or (name == "vague" and role == "cooperating"):
            if self._related is not None:
                return Mention(start, end, span, Category.RELATED, (Target(self._related, span),))
            return Mention(start, end, span, Category.RELATED, (Target(None, span),))
        if name == "vague":
            return Mention(start, end, span, Category.VAGUE)
        pool = self._communes if name == "commune" else self._schools if name == "school" else []
        if pool:
            key = " ".join(canonical_words(span))
            code = max(
                pool,
                key=lambda c: difflib.SequenceMatcher(
                    None, key, " ".join(canonical_words(self.units[c].name))
                ).ratio(),
            )
            return Mention(start, end, span, Category.UNIT, (Target(code, span),))
        return Mention(
            start, end, span, Category.UNIT, (Target(None, span, self.suggestions(span)),)
        )

    def _ellipsis(self, text: str, pos: int) -> Mention | None:
        folded = _fold(text)
        match = _ELLIPSIS.match(folded, pos)
        if match is None:
            return None
        names: list[tuple[int, int]] = []
        cursor = match.end()
        while True:
            name = re.match(r"(?:[^\W\d_][\w]*)(?:\s+[^\W\d_][\w]*){0,3}", text[cursor:])
            if name is None or not text[cursor].isupper():
                break
            words = name.group(0).split()
            kept = []
            for word in words:
                if not word[0].isupper():
                    break
                kept.append(word)
            if not kept:
                break
            name_end = cursor + len(" ".join(kept))
            names.append((cursor, name_end))
            sep = re.match(r"\s*(?:,|và)\s*(?=[^\W\d_])", text[name_end:])
            if sep is None:
                break
            nxt = name_end + sep.end()
            if not text[nxt].isupper() or _fold(text[nxt:]).startswith(("ubnd", "uy ban")):
                break
            cursor = nxt
        if not names:
            return None
        head = "UBND " if match.group("head") else ""
        level = text[match.start("level") : match.end("level")]
        targets: list[Target] = []
        for n_start, n_end in names:
            synthetic = f"{head}{level} {text[n_start:n_end]}"
            found = self._trie_match(synthetic, 0)
            if found is not None and found[0] >= len(synthetic) - 1:
                targets.extend(self._targets(found[1], synthetic))
            else:
                targets.append(Target(None, synthetic, self.suggestions(synthetic)))
        end = names[-1][1]
        return Mention(pos, end, text[pos:end], Category.UNIT, tuple(targets))

    def _pattern_unit(self, text: str, pos: int) -> Mention | None:
        """A unit-like phrase the registry does not know ("Công an tỉnh", "Sở Y tế")."""
        prefix = _PERSON_PREFIX.match(text[pos:].lower())
        start = pos + (prefix.end() if prefix else 0)
        folded = _fold(text)
        head = _HEADS.match(folded, start)
        if head is None or _FALSE_HEADS.match(folded, start):
            return None
        if folded[start:].startswith("truong") and not text[start:].lower().startswith("trường"):
            return None  # "Trưởng" (a chief), not "Trường" (a school)
        tokens = [t for t in _tokens(text) if t.start >= head.end()]
        head_text = text[start : head.end()]
        head_key = " ".join(folded[start : head.end()].split())
        next_capital = bool(tokens) and tokens[0].text[:1].isupper()
        if not (head_text[:1].isupper() or next_capital):
            return None
        end = head.end()
        taken = 0
        i = 0
        while i < len(tokens) and taken < 10:
            token = tokens[i]
            if text[end : token.start].strip():
                break
            word = token.text
            if not token.words or token.words == (_HARD,):
                # "-" or "&" inside a name only when a capitalised word follows.
                if (
                    token.folded in {"-", "&", "–"}
                    and i + 1 < len(tokens)
                    and tokens[i + 1].text[:1].isupper()
                ):
                    end = token.end
                    i += 1
                    continue
                break
            folded_word = token.folded.rstrip(".")
            if folded_word == "va":
                if (
                    i + 1 < len(tokens)
                    and tokens[i + 1].text[:1].isupper()
                    and not _HEADS.match(tokens[i + 1].folded)
                ):
                    end = token.end
                    i += 1
                    continue
                break
            capital = word[:1].isupper() or word[:1].isdigit()
            if not capital:
                bigram = folded_word
                if i + 1 < len(tokens):
                    bigram = f"{folded_word}_{tokens[i + 1].folded}"
                level = folded_word in {"huyen", "tinh", "xa", "thi", "thanh", "quan", "phuong"}
                if not level and (bigram in _STOP_BIGRAMS or folded_word in _PREPOSITIONS):
                    break
            end = token.end
            taken += 1
            i += 1
        if taken == 0 and head_key not in _SELF_NAMED_HEADS:
            return None
        span = text[pos:end]
        return Mention(
            pos, end, span, Category.UNIT, (Target(None, text[start:end], self.suggestions(span)),)
        )

    def _is_authority(self, mention: Mention) -> bool:
        """The issuer itself or a body above it: "UBND huyện", "Chủ tịch UBND tỉnh", "Bộ Y tế"."""
        if any(t.code is not None for t in mention.targets):
            return False
        folded = " ".join(_fold(mention.text).replace(",", " ").split())
        prefix = _PERSON_PREFIX.match(mention.text.lower())
        if prefix is not None and not folded.startswith(("chu tich", "pho chu tich")):
            folded = " ".join(_fold(mention.text[prefix.end() :]).split())
        if folded.startswith("cac "):
            return False
        if folded.startswith("bo "):
            return True
        if folded.startswith("so ") and self.issuer_rank < 3:
            return True
        match = _AUTHORITY.match(folded)
        if match is None:
            return False
        level = match.group("level") or match.group("level2")
        rank = level_rank(level)
        return rank is None or rank >= self.issuer_rank

    def parse_list(
        self, text: str, pos: int, *, role: str = "lead", separators: str = r",|;|và|cùng|&"
    ) -> tuple[list[Mention], int]:
        """Units joined by commas / "và" from `pos`; returns them and where the list ended."""
        mentions: list[Mention] = []
        cursor = pos
        while True:
            mention = self.match_at(text, cursor, role=role)
            if mention is None:
                break
            mentions.append(mention)
            cursor = mention.end
            paren = re.match(r"\s*\([^()]{0,120}\)", text[cursor:])
            if paren is not None:
                cursor += paren.end()
            sep = re.match(rf"\s*(?:{separators})(?!\w)\s*", text[cursor:], re.IGNORECASE)
            if sep is None:
                break
            following = self.match_at(text, cursor + sep.end(), role=role)
            if following is None:
                break
            cursor += sep.end()
        return mentions, cursor

    def find_all(self, text: str) -> list[Mention]:
        """Registry units and collectives anywhere in `text` (for masking, not for roles)."""
        found: list[Mention] = []
        cursor = 0
        for token in _tokens(text):
            if token.start < cursor or not token.words or token.words == (_HARD,):
                continue
            mention = self._match_here(text, token.start, "lead")
            if mention is not None and mention.end > token.start:
                found.append(mention)
                cursor = mention.end
        return found

    def subject_follows(self, text: str, pos: int) -> bool:
        """Does the text after a subject read as an assignment, not a report of the past?"""
        rest = _fold(text[pos:]).lstrip(" ,")
        if rest.startswith(":"):
            return True
        if not rest or not rest[0].isalpha() or text[pos:].lstrip(" ,")[:1].isupper():
            return False
        match = _REPORTING_AFTER_SUBJECT.match(rest)
        if match is None:
            return True
        # Folding merges the particle with a verb: "vẫn"/"vận động", "đang"/"đăng ký",
        # "gồm"/"thu gom", "đạt"/"đặt". With its marks written, only the particle reports.
        written = text[pos:].lstrip(" ,")[: match.end()].lower()
        particle = _AMBIGUOUS_PARTICLES.get(rest[: match.end()])
        return particle is not None and not written.isascii() and written != particle

    def sector_unit(self, heading: str, sentence: str = "") -> str | None:
        """The one unit whose sectors a heading names ("Về y tế, dược phẩm" → TTYT).

        When two units name the heading equally ("Về trật tự đô thị và vệ sinh môi trường"),
        the task's own words decide ("vệ sinh môi trường" → the environment office); a tie
        that remains is left to a person rather than guessed.
        """
        scores = self._sector_scores(heading)
        if not scores:
            return None
        best = max(scores.values())
        winners = [code for code, score in scores.items() if score == best]
        if len(winners) > 1 and sentence:
            in_sentence = self._sector_scores(sentence)
            ranked = sorted(winners, key=lambda code: -in_sentence.get(code, 0))
            if in_sentence.get(ranked[0], 0) > in_sentence.get(ranked[1], 0):
                return ranked[0]
        return winners[0] if len(winners) == 1 else None

    def _sector_scores(self, text: str) -> dict[str, int]:
        words_of_text = " ".join(canonical_words(text))
        scores: dict[str, int] = {}
        for unit in self.units.values():
            score = 0
            for sector in unit.sectors:
                words = " ".join(canonical_words(sector))
                if words and re.search(rf"(?<!\w){re.escape(words)}(?!\w)", words_of_text):
                    score += 1
            if score:
                scores[unit.code] = score
        return scores
