"""The recipe's `curate:` section: every filter's settings, validated once."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CurationConfig:
    max_per_prompt: int = field(default=2, metadata={"help": "distinct verified samples kept per prompt (0 = all)"})
    require_reasoning: bool = field(default=False, metadata={"help": "reject samples with no reasoning"})
    min_tokens: int = field(default=1, metadata={"help": "fewest completion tokens kept"})
    max_tokens: int | None = field(default=None, metadata={"help": "most completion tokens kept (null = any)"})
    max_repeated_lines: float = field(default=0.5, metadata={"help": "share of repeated non-empty lines "
                                                                       "(responses of 4+ lines)"})
    max_repeated_ngrams: float = field(default=0.5, metadata={"help": "share of repeated word 4-grams "
                                                                        "(responses of 40+ words)"})
    check_language: bool = field(default=True, metadata={"help": "reject responses in another script"})
    decontam_ngram: int = field(default=8, metadata={"help": "word n-gram size for decontamination (an eval "
                                                               "prompt shorter than n must appear whole)"})
    decontam_share: float = field(default=0.5, metadata={"help": "share of an eval prompt's n-grams a train "
                                                                   "prompt or response must contain to be a hit"})
    near_dedup: bool = field(default=True, metadata={"help": "MinHash near-dedup against all kept rows"})

    def __post_init__(self) -> None:
        if self.max_per_prompt < 0 or self.min_tokens < 0 or self.decontam_ngram < 1:
            raise ValueError("max_per_prompt and min_tokens must be >= 0, decontam_ngram >= 1")
        if not all(0 < x <= 1 for x in (self.max_repeated_lines, self.max_repeated_ngrams, self.decontam_share)):
            raise ValueError("max_repeated_lines, max_repeated_ngrams and decontam_share are shares in (0, 1]")
