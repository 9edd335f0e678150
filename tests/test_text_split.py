"""split_text: parts fit the limit in UTF-16 units and break where a reader would."""

from __future__ import annotations

import random
import unicodedata

import pytest

from bot.domain.text import split_text, utf16_len


def _words_of(parts: list[str]) -> list[str]:
    return " ".join(parts).split()


def test_utf16_len_counts_astral_characters_twice() -> None:
    assert utf16_len("") == 0
    assert utf16_len("Đã xong") == 7
    assert utf16_len("✅") == 1  # BMP
    assert utf16_len("📎") == 2  # astral: a surrogate pair
    assert utf16_len("Tệp 📎 đính kèm") == 15


def test_split_text_short_text_is_returned_unchanged() -> None:
    text = "  Nhắc việc: hạn 30/6/2023  "
    assert split_text(text, 2000) == [text]


def test_split_text_empty_text_gives_no_parts() -> None:
    assert split_text("", 10) == []


def test_split_text_rejects_a_limit_too_small_for_an_astral_character() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        split_text("abc", 1)


def test_split_text_prefers_paragraph_breaks() -> None:
    first = "Đoạn một. Có hai câu."
    second = "Đoạn hai, dài hơn một chút. Cũng có hai câu."
    parts = split_text(f"{first}\n\n{second}", 50)
    assert parts == [first, second]


def test_split_text_prefers_line_breaks_over_sentences() -> None:
    text = "Dòng một. Câu hai.\nDòng hai không có dấu chấm\nDòng ba"
    parts = split_text(text, 30)
    assert parts == ["Dòng một. Câu hai.", "Dòng hai không có dấu chấm", "Dòng ba"]


def test_split_text_breaks_at_sentence_end_before_plain_space() -> None:
    text = "Phòng Giáo dục chủ trì. Phối hợp với các xã thực hiện kế hoạch"
    parts = split_text(text, 40)
    assert parts[0] == "Phòng Giáo dục chủ trì."
    assert all(utf16_len(p) <= 40 for p in parts)


def test_split_text_keeps_closing_quote_with_its_sentence() -> None:
    text = 'Ông nói: "Xong rồi." Sau đó tiếp tục báo cáo kết quả chi tiết hơn'
    parts = split_text(text, 30)
    assert parts[0] == 'Ông nói: "Xong rồi."'


def test_split_text_never_splits_words_that_fit() -> None:
    rng = random.Random(7)
    vocabulary = ["Ủy", "ban", "nhân", "dân", "huyện", "Cẩm", "Thủy", "giao", "hạn", "báo", "cáo"]
    text = " ".join(rng.choice(vocabulary) for _ in range(600))
    for limit in (17, 50, 333):
        parts = split_text(text, limit)
        assert all(1 <= utf16_len(p) <= limit for p in parts)
        assert _words_of(parts) == text.split()


def test_split_text_cuts_a_word_longer_than_the_limit() -> None:
    url = "https://example.vn/" + "a" * 40
    parts = split_text(f"Xem {url} nhé", 20)
    assert all(utf16_len(p) <= 20 for p in parts)
    assert "".join(parts).replace(" ", "") == f"Xem{url}nhé"


def test_split_text_never_splits_a_surrogate_pair() -> None:
    text = "📎" * 15  # 30 units, each emoji 2
    parts = split_text(text, 7)
    assert all(utf16_len(p) <= 7 for p in parts)
    assert "".join(parts) == text
    for part in parts:
        part.encode("utf-16-le").decode("utf-16-le")  # a lone surrogate would not round-trip
        assert all(ch == "📎" for ch in part)


def test_split_text_keeps_combining_marks_with_their_letter() -> None:
    # Decomposed Vietnamese: each letter followed by combining marks.
    word = unicodedata.normalize("NFD", "Nguyễn") * 6
    parts = split_text(word, 5)
    assert "".join(parts) == word
    for part in parts:
        assert not unicodedata.combining(part[0])


def test_split_text_respects_zalo_limit_on_long_notice() -> None:
    paragraph = "Giao Phòng Giáo dục và Đào tạo chủ trì, tham mưu văn bản trình ký. " * 12
    text = "\n\n".join(paragraph.strip() for _ in range(6))
    parts = split_text(text, 2000)
    assert len(parts) >= 3
    assert all(utf16_len(p) <= 2000 for p in parts)
    assert all(p == p.strip() for p in parts)
    assert _words_of(parts) == text.split()


def test_split_text_skips_tiny_leading_paragraph_in_favour_of_fuller_parts() -> None:
    text = "Hi\n\n" + "một hai ba bốn. " * 10
    parts = split_text(text, 60)
    assert utf16_len(parts[0]) > 10
    assert all(utf16_len(p) <= 60 for p in parts)
    assert _words_of(parts) == text.split()


@pytest.mark.parametrize("seed", range(20))
def test_split_text_fuzz_fits_and_preserves_content(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = ["a", "ệ", "📎", " ", " ", "\n", "\n\n", ".", "Đ", "✅", "xyz"]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 800)))
    limit = rng.randint(2, 120)
    parts = split_text(text, limit)
    assert all(1 <= utf16_len(p) <= limit for p in parts)
    # Only whitespace at the cuts may disappear.
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_split_text_keeps_skin_tone_with_its_emoji() -> None:
    text = "👍🏽" * 10  # base + modifier: 4 units each
    parts = split_text(text, 6)
    assert "".join(parts) == text
    assert all(part == "👍🏽" for part in parts)
