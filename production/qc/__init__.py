"""The QC stage: consistency checks of each take and across the cuts of an episode, the feature extractors they
compare pictures with (plugins), and the report a person reads."""

from aigms.production.qc.checks import (Check, Verdict, check_episode, check_take, decode, sample, samples_file,
                                        shot_checks)

__all__ = ["Check", "Verdict", "check_episode", "check_take", "decode", "sample", "samples_file", "shot_checks"]
