"""Intake codes: raised by extractors while reading a file (rules.md, *Intake: the file itself*)."""

from formintake.validators.registry import register_code

register_code("FILE_CORRUPT", "error", "intake", "文件损坏或无法打开")
register_code("FILE_ENCRYPTED", "error", "intake", "文件加密，无法读取")
register_code("FILE_TOO_LARGE", "error", "intake", "文件超过大小限制")
register_code("FILE_UNSUPPORTED_TYPE", "error", "intake", "文件类型不受支持（仅接受docx或PDF）")
register_code("FILE_TYPE_MISMATCH", "warning", "intake", "文件扩展名与实际内容不符")
register_code("FILE_NO_TEXT", "error", "intake", "PDF无文字层（扫描件）且无OCR结果")
register_code("FILE_OCR_USED", "warning", "intake", "数值来自OCR识别，请与原件核对")
register_code("FILE_TIMEOUT", "error", "intake", "文件处理超时")
register_code("FILE_CONVERTED", "info", "intake", "旧版.doc/.wps/.rtf文件已转换为docx后读取")
register_code("FORM_UNRECOGNIZED", "error", "intake", "不是本次申报书模板")
register_code("FORM_DIRECTION_AMBIGUOUS", "error", "intake", "无法确定申报方向或方向前后不一致")
register_code("FILE_NAME_ENCODING", "info", "intake", "文件名不是UTF-8编码，已按GBK/GB18030解码")
register_code("FILE_NOT_REGULAR", "error", "intake", "不是普通文件（指向上传目录之外的链接、失效链接、设备或管道），未读取")
# our own failure, not the applicant's: logged with its traceback, never waivable, retried on the next run
register_code("INTERNAL_ERROR", "error", "intake", "系统处理出错（非申报单位原因），将在下次运行时重试")
