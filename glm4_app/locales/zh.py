"""Chinese for the UI's own strings (``t()`` in glm4_app/ui, ``N_()`` tables).

Keys are the English text exactly as written in the code; each value keeps the same
``{placeholders}`` (a test checks both directions). Keep emoji prefixes.
"""

UI = {
    # Pages and navigation
    "Chat": "对话",
    "All Tools": "全部工具",
    "Long document": "长文档",
    "Language": "语言",
    # Chat input and history
    "Message the model…": "给模型发消息…",
    "Ask; the model may run code, browse or draw…": "提问吧，模型可以运行代码、浏览网页或画图…",
    "Ask about your documents…": "针对你的文档提问…",
    "#### What can I help you with?": "#### 有什么可以帮你的？",
    "Empty message ignored.": "消息为空，已忽略。",
    "Edit your message": "编辑消息",
    "Send": "发送",
    "Cancel": "取消",
    "✏️ Edit": "✏️ 编辑",
    "🔄 Regenerate": "🔄 重新生成",
    "▶️ Answer": "▶️ 回答",
    "⏹ Stop": "⏹ 停止",
    "Stop the answer here; what was written is kept": "在此停止回答，已生成的内容会保留",
    "🗑 Clear conversation": "🗑 清空对话",
    "**{name}** cannot call tools: its chat template has no place for them. "
    "All Tools needs GLM-4-9B-Chat (`THUDM/glm-4-9b-chat-hf`) or GLM-4-0414 / "
    "GLM-Z1; set `GLM4_CHAT_MODEL` and restart. Chat works with this model.":
    "**{name}** 无法调用工具：它的对话模板不支持工具。全部工具模式需要 GLM-4-9B-Chat"
    "（`THUDM/glm-4-9b-chat-hf`）或 GLM-4-0414 / GLM-Z1；请设置 `GLM4_CHAT_MODEL` 后重启。"
    "该模型可以正常用于对话模式。",
    # Sidebar
    "**Model** `{name}`": "**模型** `{name}`",
    "{window:,} tokens context": "上下文 {window:,} token",
    "reasons before answering": "先推理再回答",
    "➕ New chat": "➕ 新对话",
    "Recent": "最近对话",
    "⚙️ Generation": "⚙️ 生成参数",
    "System prompt": "系统提示词",
    "You are a helpful assistant.": "你是一个乐于助人的助手。",
    "Temperature": "温度",
    "0 = always the most likely token": "0 = 总是选择概率最高的 token",
    "Top p": "Top p",
    "Top k (0 = off)": "Top k（0 = 关闭）",
    "Repetition penalty": "重复惩罚",
    "Max new tokens": "最大生成 token 数",
    "Fixed seed": "固定随机种子",
    "Same seed and settings give the same answer": "相同的种子和参数会得到相同的回答",
    "Seed": "随机种子",
    "Context: {used:,} / {window:,} tokens": "上下文：{used:,} / {window:,} token",
    "🧰 Tools": "🧰 工具",
    "{tool} is off: {reason}": "{tool} 不可用：{reason}",
    # Messages and metrics
    "💭 Reasoning": "💭 推理过程",
    "💭 Thinking…": "💭 正在思考…",
    "cut at the max new tokens limit": "已达最大生成长度，回答被截断",
    "cut: the context window is full": "上下文已满，回答被截断",
    "stopped": "已停止",
    "⏹ stopped": "⏹ 已停止",
    "⏱ {seconds:.2f} s to first token": "⏱ 首字延迟 {seconds:.2f} 秒",
    "{speed:.1f} tokens/s": "{speed:.1f} token/秒",
    "{used:,} / {window:,} tokens of context": "上下文 {used:,} / {window:,} token",
    "♻️ {tokens:,} reused": "♻️ 复用 {tokens:,}",
    "⏳ Starting…": "⏳ 正在启动…",
    "⏳ The model is busy: waiting for 1 other answer to finish": "⏳ 模型忙碌中：正在等待另外 1 个回答完成",
    "⏳ The model is busy: waiting for {count} other answers to finish":
    "⏳ 模型忙碌中：正在等待另外 {count} 个回答完成",
    "📖 Reading {done:,} / {total:,} tokens": "📖 正在读取 {done:,} / {total:,} token",
    # Tool steps
    "browse": "浏览",
    "{icon} Ran Python": "{icon} 运行了 Python",
    "{icon} Drew an image": "{icon} 生成了图片",
    "{icon} Called `{name}`": "{icon} 调用了 `{name}`",
    "{icon} Running {name}… {seconds:.0f} s": "{icon} 正在运行 {name}… {seconds:.0f} 秒",
    "{label} (not finished)": "{label}（未完成）",
    "{label} (failed)": "{label}（失败）",
    "(image no longer on disk: {name})": "（图片已不在磁盘上：{name}）",
    # Long document
    "📎 Documents ({count})": "📎 文档（{count}）",
    "Add PDF, Word, PowerPoint, Excel, CSV, text, Markdown or code files":
    "上传文件：PDF、Word、PowerPoint、Excel、CSV、文本、Markdown 或代码文件",
    "Reading {name}…": "正在读取 {name}…",
    "**{name}**: {error}": "**{name}**：{error}",
    "{pages:,} pages": "{pages:,} 页",
    "{tokens:,} tokens": "{tokens:,} 个 token",
    "Remove {name}": "移除 {name}",
    "{problem} What should give?": "{problem} 要怎么取舍？",
    "To fit the context": "为了放进上下文",
    "Shorten each document (keep its start and end)": "缩短每个文档（保留开头和结尾）",
    "Leave out the oldest turns": "省略最早的几轮对话",
    "Answer with this choice": "按此选择回答",
    # Loading and settings
    "The app's settings are invalid: {error}": "应用设置无效：{error}",
    "the chat model": "对话模型",
    "Loading {what}…": "正在加载{what}…",
    "Loading {what}… {seconds:.0f} s": "正在加载{what}… {seconds:.0f} 秒",
    "Loaded {what}": "{what}已加载",
    "Starting": "正在启动",
    "Details": "详细信息",
    "Retry loading": "重新加载",
}
