"""formintake: intake pipeline for 2023年新型信息消费示范项目 applications."""

__version__ = "0.1.0"
