"""The example series shipped with aigms (`aigms demo` renders it): *Bronze Echoes / 青铜回声*, two episodes, one
in Chinese and one in English, with the reference images `draw_references.py` drew for it."""
