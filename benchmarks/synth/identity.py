"""Synthetic applicants: names (kanji, kana, romaji), addresses, dates and card numbers.

Every value is drawn from ``np.random.default_rng(seed)``, so an identity is reproducible from
its seed alone. Numbers are synthetic; the My Number individual number carries a valid check
digit (the public algorithm) but belongs to no one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ekyc.types import DocumentType

REFERENCE_DATE = dt.date(2025, 11, 1)
"""Fixed "today" used to draw issue/expiry dates, so identities do not change with the clock."""

_FAMILY = (
    ("佐藤", "サトウ", "SATO"),
    ("鈴木", "スズキ", "SUZUKI"),
    ("高橋", "タカハシ", "TAKAHASHI"),
    ("田中", "タナカ", "TANAKA"),
    ("伊藤", "イトウ", "ITO"),
    ("渡辺", "ワタナベ", "WATANABE"),
    ("山本", "ヤマモト", "YAMAMOTO"),
    ("中村", "ナカムラ", "NAKAMURA"),
    ("小林", "コバヤシ", "KOBAYASHI"),
    ("加藤", "カトウ", "KATO"),
    ("吉田", "ヨシダ", "YOSHIDA"),
    ("山田", "ヤマダ", "YAMADA"),
    ("佐々木", "ササキ", "SASAKI"),
    ("松本", "マツモト", "MATSUMOTO"),
    ("井上", "イノウエ", "INOUE"),
    ("木村", "キムラ", "KIMURA"),
    ("清水", "シミズ", "SHIMIZU"),
    ("森", "モリ", "MORI"),
)
_GIVEN = {
    "M": (
        ("太郎", "タロウ", "TARO"),
        ("健一", "ケンイチ", "KENICHI"),
        ("大輔", "ダイスケ", "DAISUKE"),
        ("翔太", "ショウタ", "SHOTA"),
        ("拓也", "タクヤ", "TAKUYA"),
        ("誠", "マコト", "MAKOTO"),
        ("浩二", "コウジ", "KOJI"),
        ("蓮", "レン", "REN"),
        ("大翔", "ヒロト", "HIROTO"),
    ),
    "F": (
        ("花子", "ハナコ", "HANAKO"),
        ("陽子", "ヨウコ", "YOKO"),
        ("美咲", "ミサキ", "MISAKI"),
        ("由美", "ユミ", "YUMI"),
        ("愛", "アイ", "AI"),
        ("さくら", "サクラ", "SAKURA"),
        ("恵子", "ケイコ", "KEIKO"),
        ("結衣", "ユイ", "YUI"),
        ("真由美", "マユミ", "MAYUMI"),
    ),
}
_FOREIGN = (
    ("NGUYEN VAN AN", "ベトナム", "M"),
    ("TRAN THI HOA", "ベトナム", "F"),
    ("WANG XIAOMING", "中国", "M"),
    ("LI NA", "中国", "F"),
    ("SANTOS MARIA CLARA", "フィリピン", "F"),
    ("KIM MINJUN", "韓国", "M"),
    ("SILVA JOAO PEDRO", "ブラジル", "M"),
    ("SHARMA PRIYA", "インド", "F"),
    ("GURUNG BIKASH", "ネパール", "M"),
    ("SMITH EMILY ROSE", "米国", "F"),
)
_STATUS = (
    "技術・人文知識・国際業務",
    "永住者",
    "留学",
    "特定技能1号",
    "家族滞在",
    "日本人の配偶者等",
)
_PLACES = (
    ("東京都", "千代田区", "霞が関", 100),
    ("東京都", "世田谷区", "三軒茶屋", 154),
    ("大阪府", "大阪市北区", "梅田", 530),
    ("愛知県", "名古屋市中区", "栄", 460),
    ("福岡県", "福岡市博多区", "博多駅前", 812),
    ("北海道", "札幌市中央区", "大通西", 60),
    ("神奈川県", "横浜市西区", "みなとみらい", 220),
    ("京都府", "京都市左京区", "岡崎", 606),
    ("宮城県", "仙台市青葉区", "一番町", 980),
    ("広島県", "広島市中区", "紙屋町", 730),
    ("長野県", "松本市", "中央", 390),
    ("沖縄県", "那覇市", "久茂地", 900),
)
_LICENSE_PREFIX = {
    "東京都": 30,
    "大阪府": 62,
    "愛知県": 54,
    "福岡県": 91,
    "北海道": 10,
    "神奈川県": 45,
    "京都府": 61,
    "宮城県": 22,
    "広島県": 73,
    "長野県": 48,
    "沖縄県": 97,
}


@dataclass(frozen=True, slots=True)
class Identity:
    """One synthetic applicant and the document values printed on their cards."""

    identity_id: str
    seed: int
    doc_type: DocumentType
    face_key: str
    family_kanji: str
    given_kanji: str
    family_kana: str
    given_kana: str
    family_romaji: str
    given_romaji: str
    sex: str  # "M" or "F"
    birth: dt.date
    address: str
    prefecture: str
    issue: dt.date
    expiry: dt.date | None
    document_number: str
    band: str  # licence band: green / blue / gold
    nationality: str  # 日本 or a residence-card nationality
    status: str  # residence status (在留資格), empty for Japanese

    @property
    def name(self) -> str:
        """The name as printed on this identity's document."""
        if self.doc_type is DocumentType.RESIDENCE_CARD:
            return f"{self.family_romaji} {self.given_romaji}".strip()
        if self.doc_type is DocumentType.PASSPORT:
            return f"{self.family_romaji} {self.given_romaji}"
        return f"{self.family_kanji}　{self.given_kanji}"

    @property
    def kana(self) -> str:
        return f"{self.family_kana}　{self.given_kana}"

    @property
    def expired(self) -> bool:
        """Whether the document had expired on :data:`REFERENCE_DATE`."""
        return self.expiry is not None and self.expiry < REFERENCE_DATE


def my_number_check_digit(first11: str) -> int:
    """Check digit of a 12-digit individual number (総務省令 algorithm)."""
    digits = [int(c) for c in reversed(first11)]
    total = sum(p * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(digits, start=1))
    rem = total % 11
    return 0 if rem <= 1 else 11 - rem


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, size=n))


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _birthday_after(birth: dt.date, year: int, months_after: int) -> dt.date:
    month = birth.month + months_after
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.date(year, month, min(birth.day, 28))


def _number(doc_type: DocumentType, rng: np.random.Generator, pref: str, birth: dt.date) -> str:
    if doc_type is DocumentType.DRIVERS_LICENSE:
        first_year = (birth.year + 18 + int(rng.integers(0, 10))) % 100
        body = f"{_LICENSE_PREFIX.get(pref, 30):02d}{first_year:02d}{_digits(rng, 6)}"
        check = sum(int(c) * w for c, w in zip(body, range(11, 1, -1), strict=False)) % 10
        return f"{body}{check}{int(rng.integers(0, 3))}"
    if doc_type is DocumentType.MY_NUMBER_CARD:
        first = str(int(rng.integers(1, 10))) + _digits(rng, 10)
        return first + str(my_number_check_digit(first))
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    if doc_type is DocumentType.RESIDENCE_CARD:
        a, b, c, d = (letters[int(i)] for i in rng.integers(0, len(letters), size=4))
        return f"{a}{b}{_digits(rng, 8)}{c}{d}"
    if doc_type is DocumentType.PASSPORT:
        return "T" + letters[int(rng.integers(0, len(letters)))] + _digits(rng, 7)
    return _digits(rng, 8)  # health insurance 被保険者番号


def _validity(
    doc_type: DocumentType, rng: np.random.Generator, birth: dt.date
) -> tuple[dt.date, dt.date | None, str]:
    issue = REFERENCE_DATE - dt.timedelta(days=int(rng.integers(30, 6 * 365)))
    band = str(rng.choice(["green", "blue", "gold"], p=[0.2, 0.4, 0.4]))
    if doc_type is DocumentType.DRIVERS_LICENSE:
        years = 3 if band == "green" else 5
        return issue, _birthday_after(birth, issue.year + years, 1), band
    if doc_type is DocumentType.MY_NUMBER_CARD:
        issue = REFERENCE_DATE - dt.timedelta(days=int(rng.integers(30, 11 * 365)))
        return issue, _birthday_after(birth, issue.year + 10, 0), band
    if doc_type is DocumentType.RESIDENCE_CARD:
        return issue, _add_years(issue, int(rng.choice([1, 3, 5, 7]))), band
    if doc_type is DocumentType.PASSPORT:
        return issue, _add_years(issue, int(rng.choice([5, 10]))), band
    return issue, None, band


def make_identity(seed: int, doc_type: DocumentType, face_key: str = "astronaut") -> Identity:
    """Draw one applicant holding ``doc_type`` from ``seed`` (reproducible)."""
    rng = np.random.default_rng([seed, 7])
    foreign = doc_type is DocumentType.RESIDENCE_CARD
    if foreign:
        latin, nationality, sex = _FOREIGN[int(rng.integers(0, len(_FOREIGN)))]
        family_r, _, given_r = latin.partition(" ")
        fam_k = giv_k = fam_kana = giv_kana = ""
        status = str(rng.choice(_STATUS))
    else:
        sex = "M" if rng.random() < 0.5 else "F"
        fam_k, fam_kana, family_r = _FAMILY[int(rng.integers(0, len(_FAMILY)))]
        giv_k, giv_kana, given_r = _GIVEN[sex][int(rng.integers(0, len(_GIVEN[sex])))]
        nationality, status = "日本", ""
    birth = dt.date(
        int(rng.integers(1950, 2006)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    )
    pref, city, town, _zip3 = _PLACES[int(rng.integers(0, len(_PLACES)))]
    chome, ban, go = (int(v) for v in rng.integers(1, [6, 30, 20]))
    address = f"{pref}{city}{town}{chome}丁目{ban}番{go}号"
    if rng.random() < 0.3:
        building = ["コーポ", "ハイツ", "メゾン"][int(rng.integers(0, 3))]
        floor, room = (int(v) for v in rng.integers(1, 9, 2))
        address += f"　{building}桜{floor}0{room}号室"
    issue, expiry, band = _validity(doc_type, rng, birth)
    return Identity(
        identity_id=f"synth-{seed:08d}",
        seed=seed,
        doc_type=doc_type,
        face_key=face_key,
        family_kanji=fam_k,
        given_kanji=giv_k,
        family_kana=fam_kana,
        given_kana=giv_kana,
        family_romaji=family_r,
        given_romaji=given_r,
        sex=sex,
        birth=birth,
        address=address,
        prefecture=pref,
        issue=issue,
        expiry=expiry,
        document_number=_number(doc_type, rng, pref, birth),
        band=band,
        nationality=nationality,
        status=status,
    )
