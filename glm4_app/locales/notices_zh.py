"""Chinese for the notices modules make for users (glm4_app/notices.py): kind -> template.

The same kinds and ``{fields}`` as notices_en.py (a test checks both ways). Keep names,
settings and commands as they are; keep number formats (``{tokens:,}``).
"""

NOTICES = {
    # Generation (glm4_app/backend/engine.py, server/completion.py, turns.py, agent.py)
    "engine.context_too_long":
    "这段对话长 {tokens:,} token，但模型最多只能读取 {window:,}。没有删减任何内容：请缩短消息、删除较早的对话轮次，"
    "或开始新对话。",
    "engine.shutting_down": "模型正在关闭，请重试。",
    "engine.unloaded": "模型已卸载。",
    "engine.queue_full": "服务器繁忙：已有 {count} 个请求在排队。请稍后再试。",
    "engine.failed": "生成失败：{error}",
    "engine.out_of_memory":
    "模型处理此请求时内存不足（提示词 {tokens:,} token）。请缩短对话、调低最大生成 token 数，或以 4-bit "
    "加载模型。其他对话不受影响。",
    "answer.failed": "回答失败：{error}",
    "agent.call_cut_by_length": "回答在调用工具的过程中达到了最大生成长度，工具未运行。请调高最大生成 token 数后重新生成。",
    "agent.call_cut_by_context": "调用工具的过程中上下文已满，工具未运行。请开始新对话或删除较早的对话轮次。",
    "agent.stopped": "已停止。",
    "agent.too_many_steps": "已执行 {steps} 步工具调用仍未得到最终回答，已停止（GLM4_TOOL_MAX_STEPS）。请重新提问或调高上限。",
    # The model card (glm4_app/backend/openai_backend.py, openai_chat.py)
    "model.served_by": "由 {base_url} 提供",
    "model.completions_api": "OpenAI 兼容 API",
    "model.chat_completions_api": "chat-completions API",
    # The OpenAI-compatible model server (glm4_app/backend/openai_*.py)
    "server.timed_out":
    "{base_url} 的模型服务器 {seconds} 秒内没有任何响应，请求已放弃。服务器可能过载；等待时长由 GLM4_OPENAI_TIMEOUT_S "
    "设置。",
    "server.unreachable":
    "无法连接到 {base_url} 的模型服务器（{error}）。服务器（`vllm serve`、`ollama serve` "
    "等）是否在运行？请检查 GLM4_OPENAI_BASE_URL。",
    "server.failed_mid_answer": "模型服务器在回答过程中出错：{said}",
    "server.talk_failed": "与 {base_url} 的模型服务器通信失败：{error}",
    "server.refused_key":
    "{base_url} 的模型服务器拒绝了请求（HTTP {status}：{said}）。请检查 GLM4_OPENAI_API_KEY："
    "它必须是服务器要求的密钥。",
    "server.no_such_model":
    "{base_url} 的模型服务器上没有模型 {model}（HTTP 404：{said}）。它提供的模型有：{offered}。"
    "请将 GLM4_OPENAI_MODEL 设为其中之一。",
    "server.no_models": "无",
    "server.models_not_listed": "（服务器未提供模型列表）",
    "server.rejected": "模型服务器拒绝了请求：{said}",
    "server.busy": "模型服务器繁忙（HTTP 429：{said}）。请稍后再试。",
    "server.failed": "模型服务器出错（HTTP {status}：{said}）。请重试；如果问题持续，请查看服务器日志。",
    "server.cut": "回答过程中与 {base_url} 的模型服务器的连接中断了（{why}）。已生成的文字会保留，但不完整；请重新生成。",
    "server.stream_ended_early": "服务器还没说完，数据流就结束了",
    "server.reading_failed": "读取模型服务器的回答失败：{error}",
    "server.images_with_tools": "发给服务器的同一个请求中不能同时包含图片和工具。",
    "server.tools_need_tokenizer":
    "工具需要由本应用渲染提示词，但无法加载 {model} 的本地分词器。请将 GLM4_OPENAI_TOKENIZER "
    "设为其 Hub ID 或文件夹；如果服务器带有工具解析器，也可以设置 GLM4_BACKEND=openai-chat。",
    "server.window_unknown":
    "服务器没有说明 {model} 能读取多长的提示词；计量条按 {window:,} 个 token 估算。请将 GLM4_MAX_CONTEXT "
    "设为该模型的上下文长度。",
    # Vision (glm4_app/backend/vision.py)
    "vision.no_tools": "{label} 不能调用工具。",
    "vision.context_too_long":
    "这段对话连同图片共 {tokens:,} token，但 {label} 最多只能读取 {window:,}。请开始新对话或删除较早的对话轮次。",
    # Scanned PDFs read by the vision model (glm4_app/documents_ocr.py)
    "ocr.page_failed": "识别第 {page} / {pages} 页失败：{error}",
    # Documents (glm4_app/documents)
    "documents.supported": "PDF、Word（.docx）、PowerPoint（.pptx）、Excel（.xlsx）、CSV 或文本文件",
    "documents.read": "已读取 {name}",
    "documents.reading": "正在读取 {name}",
    "documents.reading_page": "正在读取第 {number} / {count} 页",
    "documents.reading_slide": "正在读取第 {number} / {count} 张幻灯片",
    "documents.reading_sheet": "正在读取第 {number} / {count} 个工作表",
    "documents.unexpected_error": "{name} 因意外错误无法读取（详情见服务器日志）。",
    "documents.total_too_large": "添加此文件后文档总大小将达到 {size}，上限为 {limit} MB。请先移除一个文档。",
    "documents.empty": "{name} 是空文件（0 字节）。",
    "documents.file_too_large": "{name} 大小为 {size}，单个文件上限为 {limit} MB。",
    "documents.old_office":
    "{name} 是旧版 Office 文件（.doc、.xls、.ppt）或受密码保护。请另存为无密码的 .docx、.pptx "
    "或 .xlsx 后重新上传。",
    "documents.wrong_kind": "{name} 是{found}，不是文本，也不是本模式能读取的文档（{supported}）。",
    "documents.not_real": "{name} 不是真正的 {kind}：内容与扩展名 .{extension} 不符。请以该格式重新保存后再上传。",
    "documents.binary": "{name} 不是文本（看起来是二进制文件），也不是本模式能读取的文档（{supported}）。",
    "documents.plain_zip": "{name} 是 ZIP 压缩包，不是 Word、PowerPoint 或 Excel 文件。请解压后上传其中的文档。",
    "documents.damaged": "{name} 已损坏，无法作为 {kind} 读取。",
    "documents.read_as": "{name} 实际上是{kind}，已按该格式读取。",
    "documents.no_text": "{name} 不包含文字。",
    "documents.text_cut": "只保留了前 {count:,} 个字符。",
    "documents.markup_cut": "只读取了其标记的前 {count:,} 个字符。",
    "documents.rows_cut": "只显示了 {total:,} 行中的前 {shown:,} 行。",
    "documents.rows_cut_unknown_total": "只显示了前 {shown:,} 行。",
    "documents.sheet_note": "工作表 {sheet}：{note}",
    "documents.zip_damaged": "{name} 已损坏或不完整（可能未下载完），无法作为 {kind} 读取。",
    "documents.zip_members": "{name} 内含 {count:,} 个文件（超过 {limit:,} 个）；它看起来像压缩炸弹，因此未打开。",
    "documents.zip_size": "{name} 解压后将达到 {size}（上限为 {limit}）；它看起来像压缩炸弹，因此未打开。",
    "documents.zip_ratio": "{name} 中有部分内容压缩了 {ratio:,} 倍（正常文件低于 {limit} 倍）；它看起来像压缩炸弹，因此未打开。",
    "documents.zip_encrypted": "{name} 含有加密部分，无法读取。",
    "documents.zip_member_lies": "{name} 中有部分内容解压后超过其声明的 {size}；它看起来像压缩炸弹，因此未打开。",
    "documents.zip_method": "{name} 使用了 Office 文件不会使用的压缩方式（{method}）。",
    "documents.pdf_password": "{name} 受密码保护。请移除密码（例如另存或打印为新的 PDF）后重新上传。",
    "documents.pdf_cut_off": "{name} 不完整（文件被截断，可能未下载完），无法可靠读取。请上传完整文件。",
    "documents.too_many_pages": "{name} 有 {count:,} 页，单个文件上限为 {limit:,} 页。",
    "documents.pdf_no_pages": "{name} 已损坏或为空：没有任何页面。",
    "documents.pdf_page_damaged": "{name} 已损坏：第 {number} 页无法读取。",
    "documents.pdf_repaired": "{name} 已损坏，读取前经过了修复；其 {count:,} 页中有 {empty:,} 页没有读出文字，部分内容可能缺失。",
    "documents.pdf_scanned": "{name} 没有文字层（看起来是扫描件）；请先用 OCRmyPDF 等工具做 OCR，再上传结果。",
    "documents.too_many_slides": "{name} 有 {count:,} 张幻灯片，单个文件上限为 {limit:,} 张。",
    "documents.no_text_on_slides": "{name} 不包含文字（幻灯片中的图片不会被读取）。",
    # What a file is (glm4_app/documents/detect.py, __init__.py)
    "filetype.pdf": "PDF 文件",
    "filetype.docx": "Word 文档（.docx）",
    "filetype.pptx": "PowerPoint 演示文稿（.pptx）",
    "filetype.xlsx": "Excel 工作簿（.xlsx）",
    "filetype.a_pdf": "PDF",
    "filetype.a_docx": "Word 文档（.docx）",
    "filetype.a_pptx": "PowerPoint 演示文稿（.pptx）",
    "filetype.an_xlsx": "Excel 工作簿（.xlsx）",
    "filetype.a_document": "文档",
    "filetype.a_png": "PNG 图片",
    "filetype.a_jpeg": "JPEG 图片",
    "filetype.a_gif": "GIF 图片",
    "filetype.a_tiff": "TIFF 图片",
    "filetype.a_webp": "WebP 图片",
    "filetype.a_gzip": "gzip 压缩包",
    "filetype.a_7zip": "7-Zip 压缩包",
    "filetype.a_rar": "RAR 压缩包",
    "filetype.a_program": "可执行程序",
    "filetype.a_sqlite": "SQLite 数据库",
    "filetype.an_audio_file": "音频文件",
    "filetype.an_audio_or_video_file": "音频或视频文件",
    "filetype.an_rtf": "RTF 文档（请另存为 .docx 或 PDF）",
    # Reading uploads in a worker process (glm4_app/doc_worker.py)
    "documents.reader_did_not_start": "{name} 无法读取：文档读取程序未能启动（详情见服务器日志）。",
    "documents.read_timeout": "{name} 读取时间过长（超过 {seconds} 秒）；未添加任何内容。",
    "documents.read_cpu_limit": "{name} 读取时间过长；未添加任何内容。",
    "documents.reader_crashed": "{name} 无法读取：读取所需内存过多（超过 {limit:,} MB）或导致读取程序崩溃；未添加任何内容。",
    "documents.read_memory_limit": "{name} 读取所需内存过多（超过 {limit:,} MB）；未添加任何内容。",
    # Fitting documents into the context (glm4_app/doc_budget.py)
    "fit.over": "文档和对话共占 {tokens:,} token；模型最多读取 {window:,}，其中 {reserve:,} 预留给回答。",
    "fit.turns_dropped": "为放进上下文，省略了最早的 {count} 轮对话。",
    "fit.documents_too_long": "即使去掉较早的对话，提示词仍占 {tokens:,} token，超过可用的 {budget:,}：文档本身太长。请改为缩短文档。",
    "fit.conversation_too_long": "仅对话本身就太长了；请改为省略最早的几轮对话。",
    "fit.documents_shortened": "文档已缩短到原长度的约 {share:.0%}：保留了每个文档的开头和结尾，并用标记注明省略中间部分的位置。",
    "fit.cannot_shorten": "文档无法缩短到足够短；请改为省略最早的几轮对话。",
    # Per-user limits (glm4_app/limits.py)
    "limits.concurrent": "你已有 {count} 个回答正在生成，已达每位用户同时生成的上限（{limit} 个）。请等其中一个完成后再试。",
    "limits.per_minute": "你在过去一分钟内已请求 {count} 次回答，已达每位用户的上限。请 {seconds} 秒后再试。",
    "limits.upload": "{name} 大小为 {size} MB，每位用户上传的文件不能超过 {limit} MB。",
    "limits.context":
    "此请求长 {tokens:,} token，每位用户每次请求最多发送 {limit:,} token 的上下文。请开始新对话，"
    "或移除文档或较早的对话轮次。",
    # Vision checkpoints' rules (glm4_app/vision/profiles.py)
    "vision.no_system_prompt": "{label} 不支持系统提示词。请在 ⚙️ 生成参数 中清空后重新发送。",
    "vision.no_documents":
    "{label} 只能读取一张图片，不能读取文档的页面。如需发送 PDF 和幻灯片，请将 GLM4_VISION_MODEL "
    "设为 GLM-4.1V 或更新的模型，或在长文档模式中阅读该文档。",
    "vision.too_many_images": "{label} 每段对话只能读取{images}，你添加了 {count} 张。请移除 {extra} 张。",
    "vision.no_room": "{label} 每段对话只能读取{images}，当前对话已没有空位。要用新图片开始新对话吗？",
    "vision.some_room": "{label} 每段对话只能读取{images}，当前对话还能再加 {left} 张。请移除一些，或用新图片开始新对话？",
    "vision.first_message_only": "{label} 只能在对话的第一条消息中读取图片。要用这张图片开始新对话吗？",
    "vision.pages_too_long":
    "加上这 {pages} 页，这条消息的提示词共 {tokens:,} token；模型最多读取 {window:,}，且需为回答留出 "
    "{reserve:,}。请少发几页（拆分文档）、开始新对话，或在长文档模式中按文字阅读。",
    "vision.images_too_long":
    "加上这些图片，这条消息的提示词共 {tokens:,} token；模型最多读取 {window:,}，且需为回答留出 "
    "{reserve:,}。请少发几张（拆分文档）、开始新对话，或在长文档模式中按文字阅读。",
    "vision.one_image": "一张图片",
    "vision.images": "{count} 张图片",
    # Images (glm4_app/vision/images.py)
    "images.empty": "{name} 是空文件。",
    "images.too_large": "{name} 大小为 {size} MB，图片不能超过 {limit} MB。",
    "images.format": "{name} 是 {format} 格式的图片；请上传 PNG、JPEG、BMP、TIFF、WEBP 或 GIF。",
    "images.too_thin": "{name} 为 {width} x {height} 像素：太窄，无法识别。",
    "images.unreadable": "{name} 不是可读取的图片；请上传 PNG、JPEG、BMP、TIFF、WEBP 或 GIF。",
    "images.damaged": "{name} 已损坏或不完整，无法读取（{error}）。",
    "images.bomb_size": "{name} 声称有 {width:,} x {height:,} 像素，太大，无法安全打开（可能是解压炸弹或超大扫描件）。请缩小尺寸后重新上传。",
    "images.bomb": "{name} 太大，无法安全打开（可能是解压炸弹或超大扫描件）。请缩小尺寸后重新上传。",
    # Documents as page images (glm4_app/vision/pages.py)
    "pages.too_large": "{name} 大小为 {size} MB；文档最大为 {limit} MB。",
    "pages.not_pdf_or_pptx": "{name} 不是 PDF 或 PowerPoint 演示文稿（.pptx）。",
    "pages.password": "{name} 受密码保护。请移除密码后重新上传。",
    "pages.none": "{name} 没有页面。",
    "pages.too_many": "{name} 有 {count:,} 页；最多只能按图片发送 {limit} 页。请拆分它，或在长文档模式中按文字阅读。",
    "pages.draw_timeout": "绘制 {name} 的页面时间过长（超过 {seconds} 秒）；未附加任何内容。",
    "pages.page_damaged": "{name} 已损坏：第 {page} 页无法绘制。",
    "pages.no_office_suite":
    "只有办公套件能绘制幻灯片，而此处没有安装。请把 {name} 另存为 PDF（PowerPoint 中的 文件 > 导出）"
    "后附加，或在服务器上安装 LibreOffice（Debian：apt-get install libreoffice-impress）"
    "。",
    "pages.slides_timeout": "绘制 {name} 的幻灯片超过 {seconds} 秒；请另存为 PDF 后附加。",
    "pages.slides_failed": "LibreOffice 无法绘制 {name} 的幻灯片；请另存为 PDF 后附加。",
    # Model loading: steps, failures (title and hint) (glm4_app/backend/loader.py, manager.py)
    "load.reading_config": "读取配置",
    "load.tokenizer": "加载分词器",
    "load.tokenizer_and_image_processor": "加载分词器和图像处理器",
    "load.weights": "加载权重（{precision}，{device}）",
    "load.warming_up": "预热",
    "load.waiting_for_other": "等待另一个模型加载完成",
    "load.fetching_config": "下载 {source} 的配置和分词器",
    "load.fetching_shard": "下载权重：第 {number} / {count} 个分片（{shard}）",
    "load.no_chat_template": "{name} 没有对话模板。",
    "load.no_chat_template_hint": "它可能是基座模型，请选择对应的 chat 或 instruct 版本。",
    "load.no_folder": "{source} 处没有模型文件夹。",
    "load.no_folder_hint": "请将 {setting} 指向包含 config.json 的文件夹，或使用 Hub ID，例如 {example}。",
    "load.no_cuda": "GLM4_DEVICE 为 {setting}，但未检测到 CUDA GPU。",
    "load.no_cuda_hint": "请设置 GLM4_DEVICE=auto（或 cpu），或用 nvidia-smi 检查驱动。",
    "load.float16": "GLM 模型不能使用 float16：会输出乱码（\"!!!!\"）。",
    "load.float16_hint": "请设置 GLM4_DTYPE=bfloat16（或 auto）。",
    "load.no_bitsandbytes": "{setting} 量化需要 bitsandbytes，但导入失败（{error}）。",
    "load.no_bitsandbytes_hint": "请用 `pip install bitsandbytes` 安装，或设置 {quantization}=none。",
    "load.offline_missing": "未安装内置的离线模型。",
    "load.out_of_memory": "内存不足，无法加载 {source}。",
    "load.out_of_memory_hint": "请设置 {quantization}=4bit（内存约为 bf16 的三分之一）、换用更小的模型，或释放 GPU。",
    "load.remote_code": "{source} 自带加载代码，当前设置不允许运行。",
    "load.remote_code_hint": "如果信任该仓库，请设置 GLM4_TRUST_REMOTE_CODE=true，或改用其 `-hf` 版本（例如 {example}）。",
    "load.corrupt": "{source} 的权重文件已损坏或不完整。",
    "load.corrupt_hint": "请删除该文件夹（或 Hugging Face 缓存中的对应条目）后重新下载。",
    "load.quantisation": "此环境不支持量化加载。",
    "load.quantisation_hint": "bitsandbytes 无法在此设备上量化；请设置 {quantization}=none 或使用 CUDA GPU。",
    "load.not_found": "找不到模型 {source}。",
    "load.not_found_hint": "请检查 {setting} 中的 Hub ID 或文件夹。没有网络时，权重必须已在 Hugging Face 缓存或本地文件夹中。",
    "load.unknown_type": "当前版本的 transformers 无法加载 {source} 这种模型类型。",
    "load.unknown_type_hint": "请升级 transformers，或选择受支持的对话模型。",
    "load.failed": "无法加载 {source}。",
    "load.see_details": "详情见下方。",
    "load.unexpected": "加载意外失败。",
    "load.no_vision_model": "未配置视觉模型。",
    "load.no_vision_model_hint": "请设置 GLM4_VISION_MODEL 后重启。",
    "load.no_served_vision_model_hint": "请将 GLM4_VISION_MODEL 设为视觉模型服务器提供的模型名（例如 THUDM/glm-4v-9b）。",
    "load.not_vision": "{source} 不是本应用能运行的视觉模型。",
    "load.not_vision_hint":
    "请将 GLM4_VISION_MODEL 设为 THUDM/glm-4v-9b、zai-org/GLM-4.1V-9B-Thinking、"
    "zai-org/GLM-4.5V 或 zai-org/GLM-4.6V-Flash。",
    # Connecting to a model server (glm4_app/backend/openai_connect.py)
    "load.asking_server": "查询 {base_url} 提供哪些模型",
    "load.server_tokenizer": "加载 {source} 的分词器，在本地渲染提示词",
    "load.server_unreachable": "无法访问模型服务器",
    "load.server_refused_key": "{base_url} 的模型服务器拒绝了 API 密钥（HTTP {status}）",
    "load.server_key_hint": "请将 GLM4_OPENAI_API_KEY 设为服务器要求的密钥。",
    "load.server_models_status": "{base_url} 的模型服务器对 /models 返回了 HTTP {status}",
    "load.server_base_url_hint": "请检查 GLM4_OPENAI_BASE_URL：它应是以 /v1 结尾的服务器地址。",
    "load.server_not_a_model_list": "{base_url}/models 不是 OpenAI 兼容的模型列表",
    "load.server_lacks_model": "{base_url} 的模型服务器不提供 {model}",
    "load.any_model": "任何模型",
    "load.server_offers": "它提供的模型有：{offered}。请将 GLM4_OPENAI_MODEL 设为其中之一。",
    "server.tokenizer_failed": "无法加载本地分词器（{error}）",
    "server.tokenizer_none": "GLM4_OPENAI_TOKENIZER 设为了 `none`",
    "server.tokenizer_not_found": "找不到 {model} 的分词器（既不是文件夹也不是 Hub ID）",
    "server.renders_prompts":
    "由于{reason}，提示词由服务器渲染：工具不可用，token 计数为估算值。将 GLM4_OPENAI_TOKENIZER "
    "设为所服务检查点的 Hub ID 或文件夹可获得精确计数和工具；如果服务器自己解析工具调用，也可以设置 GLM4_BACKEND=openai-chat。",
    # The offline model (glm4_app/backend/offline.py, manager.py)
    "offline.missing":
    "未安装内置的离线模型（{name}）。安装命令：  {command}  （务必加 --no-deps：它声明的依赖会编译 "
    "llama-cpp-python，而本应用并不需要）。{detail}",
    "offline.file_missing": "（找到了软件包 {path}，但缺少 {file}）",
    "offline.finishing": "即将完成",
    "offline.reading_tokenizer": "从 GGUF 读取分词器",
    "offline.dequantising": "反量化权重",
    "offline.rebuilding": "重建不含 GGUF 量化的模型",
    "offline.saving_weights": "保存 safetensors",
    "offline.saving_tokenizer": "保存分词器",
    "offline.in_use":
    "{reason}，因此本应用运行的是内置的小模型 **{name}**：加载快，但回答能力弱。要与 GLM-4 对话，请将 "
    "`GLM4_CHAT_MODEL` 设为 Hub ID（如 `THUDM/glm-4-9b-chat-hf`）或本地文件夹（需约 "
    "20 GB 显存的 GPU，或设置 `GLM4_QUANTIZATION=4bit` 约需 8 GB），然后重启。",
    "offline.no_gpu": "未检测到 GPU",
    "offline.asked_for": "GLM4_CHAT_MODEL 指定了离线模型",
    "offline.falling_back": "{source} 不可用（{reason}），改为加载离线模型",
    "offline.could_not_load": "{source} 无法加载（{reason}）",
    # Tools (glm4_app/tools)
    "search.off": "{reason}；浏览器仍可打开网址。",
    "search.no_provider": "未配置联网搜索（GLM4_SEARCH_PROVIDER 为空）",
    "search.no_searxng_url": "未配置联网搜索（SearXNG 地址 GLM4_SEARCH_URL 为空）",
    "search.no_brave_key": "未配置联网搜索（Brave Search 的 GLM4_SEARCH_API_KEY 为空）",
    "search.unknown_provider": "未知的搜索服务 {provider}",
    "image.no_url": "未设置 GLM4_IMAGE_API_URL",
    "image.bad_url": "GLM4_IMAGE_API_URL 必须是 http(s) 地址，当前为 {url}",
    "functions.no_folder": "工具文件夹 {folder} 不存在（GLM4_TOOLS_DIR）。",
    "functions.import_failed": "{file}：{error}",
    "functions.builtin_name": "{file}：{name} 与内置工具重名，请改名。",
    "functions.defined_twice": "{file}：名为 {name} 的工具已在 {other} 中定义，已跳过此处的定义。",
    # The python tool's sandbox (glm4_app/tools/sandbox.py)
    "sandbox.off_when_hosted": "以托管方式运行且 GLM4_KERNEL_SANDBOX=off：Python 内核未隔离。",
    "sandbox.with_network": "Python 在 bubblewrap 沙箱中运行（可联网）。",
    "sandbox.without_network": "Python 在 bubblewrap 沙箱中运行（不可联网）。",
    "sandbox.unsandboxed":
    "Python 在无沙箱的环境中运行（{problem}）：模型生成的代码可以读取本应用用户能读取的一切（对话数据库、密钥、"
    "其他会话的文件），访问网络和本机服务，并写入共享的 /tmp。请安装 bubblewrap（`apt-get install "
    "bubblewrap`）以隔离它。",
    "sandbox.allowed_unsandboxed":
    "Python 内核没有沙箱（{problem}）；由于 GLM4_ALLOW_UNSANDBOXED_KERNEL=true，"
    "它在无隔离的环境中运行：可以读取应用的文件并访问网络。",
    "sandbox.none_available":
    "没有可用于执行代码的沙箱（{problem}）。请安装 bubblewrap（`apt-get install bubblewrap`）"
    "，或设置 GLM4_ALLOW_UNSANDBOXED_KERNEL=true 以在无隔离的环境中运行代码。",
    "sandbox.python_off": "Python 工具已关闭：{reason}",
    "sandbox.no_bwrap": "未安装 bubblewrap（bwrap）",
    "sandbox.bwrap_cannot": "bwrap 无法在此创建沙箱：{error}",
    "sandbox.bwrap_failed": "bwrap 运行失败：{error}",
    # MCP servers (glm4_app/tools/mcp_servers)
    "mcp.no_file": "MCP 服务器配置文件 {path} 不存在（GLM4_MCP_CONFIG）。",
    "mcp.unreadable": "无法读取 MCP 服务器配置文件 {path}：{error}。",
    "mcp.not_json": "MCP 服务器配置文件 {path} 不是合法的 JSON：第 {line} 行第 {column} 列，{error}。",
    "mcp.no_servers": "MCP 服务器配置文件 {path} 中没有 \"mcpServers\" 对象（Claude Desktop 的格式）。",
    "mcp.server_skipped": "MCP 服务器 {name}：{problem}；已跳过。",
    "mcp.one_transport": "请给出 `command`（本地服务器）或 `url`（远程服务器）之一",
    "mcp.variable_unset": "它用到了 {variable}，但应用的环境变量中没有设置",
    "mcp.shut_down": "已关闭。",
    "mcp.idle_shut_down": "闲置 {minutes} 分钟后已关闭；下次调用时会重新启动。",
    "mcp.start_timeout": "它没有在 {seconds} 秒内启动（initialize 无应答）。",
    "mcp.could_not_start": "无法启动：{reason}。",
    "mcp.connection_broke": "连接中断：{reason}。",
    "mcp.process_exited": "进程已退出；下次调用时会重新启动。",
    "mcp.at_url": "{url}：{reason}",
    "mcp.command_not_found": "找不到命令（{command}）",
    "mcp.no_sandbox": "托管运行时本地服务器在代码沙箱中运行，而{reason}或者在 MCP 服务器配置文件中把此服务器标记为 \"trusted\": true。",
    "mcp.too_many_tools": "它列出了 {count} 个工具；只有前 {limit} 个提供给模型。",
    "mcp.bad_schema": "工具 {name} 未提供给模型：它的输入 schema 不是合法的 JSON Schema（{problem}）。",
    "mcp.same_name": "工具 {name} 未提供给模型：它的另一个工具在这里同名。",
    "mcp.schema_not_object": "不是对象",
    "mcp.schema_type": "它的类型是 {type}，而不是 'object'",
    # Accounts and sign-in (glm4_app/accounts.py, auth.py)
    "accounts.role": "角色只能是以下之一：{roles}。",
    "accounts.sign_up_closed": "注册已关闭：第一个账号已经存在。",
    "accounts.name_taken": "用户名 {name} 已被使用。",
    "accounts.no_such_user": "没有名为 {name} 的用户。",
    "accounts.password_short": "密码至少 {count} 个字符。",
    "accounts.password_long": "密码最多 {count} 个字符。",
    "auth.user_name": "用户名为 1 到 64 个字母、数字或 `. @ + - _`（不能有空格）。",
    "auth.open_to_network":
    "此服务器在 {address} 上监听且无需登录：任何能访问它的人都可以使用模型并查看所有对话链接。请设置 GLM4_AUTH=password "
    "或 GLM4_AUTH=oidc（见 README 的“团队部署”一节）。",
    "auth.every_interface": "所有网络接口",
    "oidc.no_authlib": "未安装 `Authlib` 包（>= 1.3.2）：请运行 `pip install Authlib`。",
    "oidc.no_section": "`.streamlit/secrets.toml` 中没有 `[auth]` 部分。",
    "oidc.redirect_uri": "`[auth] redirect_uri` 必须是本应用的地址加上 `/oauth2callback`。",
    "oidc.cookie_secret": "`[auth] cookie_secret` 必须是至少 32 个字符的随机字符串。",
    "oidc.no_provider": "没有身份提供方：请设置 client_id、client_secret 和 server_metadata_url。",
    "oidc.several_providers": "有多个 `[auth.NAME]` 身份提供方：请只保留一个。",
    "oidc.provider_lacks": "身份提供方缺少 {keys}。",
    "accounts.no_such_key": "没有编号为 {id} 的 API 密钥。",
    "accounts.passwords_differ": "两次输入的密码不一致。",
    # Conversation import (glm4_app/history.py, tree.py)
    "import.too_large": "文件超过 {limit} MB。",
    "import.not_json": "这不是 JSON 文件（{error}）。",
    "import.not_an_export": "此 JSON 文件不是从本应用导出的对话。",
    "import.version": "此导出文件的版本为 {found}；本应用可读取版本 1 至 {expected}。",
    "import.no_conversation": "文件中没有对话。",
    "import.no_leaf": "文件没有说明最后显示的是哪条消息（`leaf`）。",
    "import.unknown_mode": "未知的模式 {mode}。",
    "import.not_text": "`{name}` 必须是文本。",
    "import.not_a_list": "`{name}` 必须是列表。",
    "import.not_bool": "`{name}` 必须是 true 或 false。",
    "import.not_number": "`{name}` 必须是数字。",
    "import.unknown_value": "未知的 {name}：{value}。",
    "import.too_many_messages": "文件包含 {count:,} 条消息；最多只能导入 {limit:,} 条。",
    "import.not_a_message": "第 {number} 条消息格式不对（应包含角色和文本内容）。",
    "import.field_not_text": "第 {number} 条消息中有应为文本的字段不是文本。",
    "import.flag_not_bool": "第 {number} 条消息中有应为 true 或 false 的标志不是布尔值。",
    "import.step_not_number": "第 {number} 条消息的步骤编号不是数字。",
    "import.bad_stats": "第 {number} 条消息的统计信息格式有误。",
    "import.bad_attachments": "第 {number} 条消息的图片、文件或引用格式有误。",
    "import.bad_artifacts": "第 {number} 条消息的预览或输出格式有误。",
    "import.time_not_number": "第 {number} 条消息的时间不是数字。",
    "import.bad_message_document": "第 {number} 条消息中有文档缺少名称、类型、文本或大小信息。",
    "import.bad_document": "第 {number} 个文档缺少名称、类型、文本或大小信息。",
    "import.files_not_imported": "{note}（附件未导入）",
    "tree.no_id": "第 {number} 条消息没有 id。",
    "tree.same_id": "第 {number} 条消息的 id 与第 {other} 条相同。",
    "tree.unknown_parent": "第 {number} 条消息接在一条文件中没有的消息之后。",
    "tree.loop": "第 {number} 条消息是它自己的祖先：消息构成了循环。",
    "tree.unknown_leaf": "最后显示的消息不在文件中。",
    # Share links (glm4_app/shares.py)
    "share.files_not_shared": "{note}（代码写出的文件不随分享链接提供）",
}
