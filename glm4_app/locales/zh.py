"""Chinese for the UI's own strings (``t()`` in glm4_app/ui, ``N_()`` tables).

Keys are the English text exactly as written in the code; each value keeps the same
``{placeholders}`` (a test checks both directions). Keep emoji prefixes.
"""

UI = {
    # Pages and navigation
    "Chat": "对话",
    "All Tools": "全部工具",
    "Long document": "长文档",
    "Vision": "视觉理解",
    "Language": "语言",
    # Chat input and history
    "Message the model…": "给模型发消息…",
    "Ask; the model may run code, browse or draw…": "提问吧，模型可以运行代码、浏览网页或画图…",
    "Ask about your documents…": "针对你的文档提问…",
    "Ask about the image…": "针对图片提问…",
    "#### What can I help you with?": "#### 有什么可以帮你的？",
    "Empty message ignored.": "消息为空，已忽略。",
    "Edit your message": "编辑消息",
    "Send": "发送",
    "Cancel": "取消",
    "✏️ Edit": "✏️ 编辑",
    "🔄 Regenerate": "🔄 重新生成",
    "▶️ Answer": "▶️ 回答",
    "▶️ Continue": "▶️ 继续",
    "⏹ Stop": "⏹ 停止",
    "Stop the answer here; what was written is kept": "在此停止回答，已生成的内容会保留",
    "🗑 Clear conversation": "🗑 清空对话",
    "**{name}** cannot call tools: its chat template has no place for them. "
    "All Tools needs GLM-4-9B-Chat (`THUDM/glm-4-9b-chat-hf`), GLM-4-0414 / "
    "GLM-Z1 or GLM-4.5 and later (GLM-4.7-Flash on one GPU); set `GLM4_CHAT_MODEL` "
    "and restart. Chat works with this model.":
    "**{name}** 无法调用工具：它的对话模板不支持工具。全部工具模式需要 GLM-4-9B-Chat"
    "（`THUDM/glm-4-9b-chat-hf`）、GLM-4-0414 / GLM-Z1 或 GLM-4.5 及更新的模型（单卡可用 "
    "GLM-4.7-Flash）；请设置 `GLM4_CHAT_MODEL` 后重启。该模型可以正常用于对话模式。",
    # Sidebar
    "**Model** `{name}`": "**模型** `{name}`",
    "{window:,} tokens context": "上下文 {window:,} token",
    "reasons before answering": "先推理再回答",
    "➕ New chat": "➕ 新对话",
    "New chat": "新对话",
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
    "🔎 Web search": "🔎 联网搜索",
    "{tool} is off: {reason}": "{tool} 不可用：{reason}",
    # Messages and metrics
    "💭 Reasoning": "💭 推理过程",
    "💭 Thinking…": "💭 正在思考…",
    "cut at the max new tokens limit": "已达最大生成长度，回答被截断",
    "cut: the context window is full": "上下文已满，回答被截断",
    "stopped": "已停止",
    "⏹ stopped": "⏹ 已停止",
    "⚠️ Interrupted: the server stopped before this answer was finished.": "⚠️ 已中断：服务器在这条回答完成前停止了。",
    "⏱ {seconds:.2f} s to first token": "⏱ 首字延迟 {seconds:.2f} 秒",
    "{speed:.1f} tokens/s": "{speed:.1f} token/秒",
    "{used:,} / {window:,} tokens of context": "上下文 {used:,} / {window:,} token",
    "♻️ {tokens:,} reused": "♻️ 复用 {tokens:,}",
    "⏳ Starting…": "⏳ 正在启动…",
    "⏳ The model is busy: waiting for 1 other answer to finish": "⏳ 模型忙碌中：正在等待另外 1 个回答完成",
    "⏳ The model is busy: waiting for {count} other answers to finish":
    "⏳ 模型忙碌中：正在等待另外 {count} 个回答完成",
    "📖 Reading {done:,} / {total:,} tokens": "📖 正在读取 {done:,} / {total:,} token",
    "Context: about {used:,} / {window:,} tokens (estimate)": "上下文：约 {used:,} / {window:,} token（估算）",
    "{meter}: over the {budget:,} that leave room for the answer": "{meter}：超过 {budget:,}，回答将没有足够的空间",
    # MCP servers (sidebar)
    "⚪ not started": "⚪ 未启动",
    "⏳ starting…": "⏳ 启动中…",
    "🟢 ready": "🟢 就绪",
    "🔴 failed": "🔴 失败",
    "🟠 stopped": "🟠 已停止",
    "⚫ off": "⚫ 已关闭",
    "🔌 MCP servers ({ready}/{count} ready)": "🔌 MCP 服务器（{ready}/{count} 个就绪）",
    "remote, shared": "远程，共享",
    "local, sandboxed": "本地，沙箱中",
    "local": "本地",
    "🔄 Restart {name}": "🔄 重启 {name}",
    "It wrote: {output}": "它输出：{output}",
    # Tool steps
    "🐍 Python": "🐍 Python 代码",
    "🌐 Browser": "🌐 浏览器",
    "🎨 Text-to-image": "🎨 文生图",
    "{tool} is switched off: the model's call was not run": "{tool} 已关闭：模型的调用未执行",
    "{icon} The model called `{name}`, a tool that does not exist: not run":
    "{icon} 模型调用了不存在的工具 `{name}`：未执行",
    "Switch the tool on under 🧰 Tools in the sidebar to let the model use it.":
    "在侧边栏的 🧰 工具中打开它，模型才能使用。",
    "browse": "浏览",
    "{icon} Ran Python": "{icon} 运行了 Python",
    "{icon} Drew an image": "{icon} 生成了图片",
    "{icon} Called `{name}`": "{icon} 调用了 `{name}`",
    "{icon} Running {name}… {seconds:.0f} s": "{icon} 正在运行 {name}… {seconds:.0f} 秒",
    "{label} (not finished)": "{label}（未完成）",
    "{label} (interrupted)": "{label}（被中断）",
    "{label} (stopped)": "{label}（已停止）",
    "{icon} Writing a call to {name}…": "{icon} 正在编写对 {name} 的调用…",
    "{label} (failed)": "{label}（失败）",
    "(image no longer on disk: {name})": "（图片已不在磁盘上：{name}）",
    # Long document
    "📎 Documents ({count})": "📎 文档（{count}）",
    "Add PDF, Word, PowerPoint, Excel, CSV, text, Markdown or code files (up to {mb} MB each)":
    "上传文件：PDF、Word、PowerPoint、Excel、CSV、文本、Markdown 或代码文件（每个最大 {mb} MB）",
    "Up to {total} MB of documents per conversation.": "每段对话的文档合计最多 {total} MB。",
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
    "Sent with “{question}”": "随“{question}”发送",
    "Goes with your next question": "将随你的下一个问题发送",
    # Loading and settings
    "The app's settings are invalid: {error}": "应用设置无效：{error}",
    "the chat model": "对话模型",
    "Loading {what}…": "正在加载{what}…",
    "Loading {what}… {seconds:.0f} s": "正在加载{what}… {seconds:.0f} 秒",
    "Loaded {what}": "{what}已加载",
    "Starting": "正在启动",
    "Details": "详细信息",
    "Retry loading": "重新加载",
    # Conversation history (sidebar)
    "Search conversations": "搜索对话",
    "🔎 Search titles and messages": "🔎 搜索标题和消息",
    "{count} found": "找到 {count} 条",
    "Nothing found for “{query}”.": "没有找到与“{query}”相关的对话。",
    "📝 This conversation": "📝 当前对话",
    "Title": "标题",
    "Rename": "重命名",
    "A title cannot be empty.": "标题不能为空。",
    "⬇️ Markdown": "⬇️ 导出 Markdown",
    "⬇️ JSON": "⬇️ 导出 JSON",
    "🗑 Delete": "🗑 删除",
    "Delete this conversation, its files and its share links for good?": "确定永久删除此对话、其文件和分享链接吗？",
    "Today": "今天",
    "Yesterday": "昨天",
    "Previous 7 days": "过去 7 天",
    "Older": "更早",
    "Rename, share or delete": "重命名、分享或删除",
    "This conversation no longer exists.": "此对话已不存在。",
    "The branch shown": "当前显示的分支",
    "Every branch, to import again": "所有分支，可再次导入",
    # Versions of messages and the actions under them
    "⬆️ Show earlier messages ({count} more)": "⬆️ 显示更早的消息（还有 {count} 条）",
    "Copy": "复制",
    "Copied": "已复制",
    "Copy as Markdown": "复制为 Markdown",
    "Previous version": "上一个版本",
    "Next version": "下一个版本",
    "Documents sent with it": "随此消息发送的文档",
    "An answer is being written in this conversation: wait for it or stop it first. Nothing was changed.":
    "此对话中正在生成回答：请等待它完成或先停止它。没有做任何更改。",
    # Share links
    "🔗 Share the branch shown": "🔗 分享当前显示的分支",
    "A read-only link to a copy of the conversation as it shows now": "指向对话当前显示内容副本的只读链接",
    "Anyone with the link, without signing in": "任何拿到链接的人，无需登录",
    "anyone with the link": "任何拿到链接的人",
    "users of this server": "本服务器的用户",
    "Made {when} · {messages} messages · opens for {who}": "创建于 {when} · {messages} 条消息 · 可查看者：{who}",
    "Revoke": "撤销",
    "The link was revoked: it no longer opens.": "链接已撤销，无法再打开。",
    "This shared link does not exist, or its owner revoked it.": "此分享链接不存在，或已被其所有者撤销。",
    "Go to my chats": "前往我的对话",
    "🔗 A read-only copy of a conversation, shared {when}. Later changes to it do not show here.":
    "🔗 对话的只读副本，分享于 {when}。之后对原对话的修改不会显示在这里。",
    "💬 Continue in my chats": "💬 在我的对话中继续",
    "Sign in to continue this conversation in your own chats.": "登录后可在你自己的对话中继续此对话。",
    "Sign in": "登录",
    "Yes, delete": "确认删除",
    "Deleted “{title}”.": "已删除“{title}”。",
    "📥 Import": "📥 导入",
    "A conversation exported as JSON (up to {mb} MB)": "导出为 JSON 的对话（最大 {mb} MB）",
    "**{name}** was not imported: {problem}": "**{name}** 未导入：{problem}",
    "Imported “{title}” into {mode}.": "已将“{title}”导入到{mode}。",
    "Open it in {mode}": "在{mode}中打开",
    "That conversation belongs to another user.": "该对话属于其他用户。",
    # Sign-in (the server's pages and the page's account corner)
    "### Sign in": "### 登录",
    "Sign in": "登录",
    "Sign out": "退出登录",
    "Sign out everywhere": "在所有设备上退出",
    "Signed in as **{name}**": "已登录：**{name}**",
    " · admin": " · 管理员",
    "User name": "用户名",
    "Password": "密码",
    "Wrong user name or password.": "用户名或密码错误。",
    "Too many failed sign-ins. Try again in {seconds} s.": "登录失败次数过多，请 {seconds} 秒后再试。",
    "You are signed out.": "你已退出登录。",
    "Your session has ended: sign in again.": "登录已过期，请重新登录。",
    "You are signed out, or your session has ended. Sign in to continue.": "你已退出登录，或登录已过期。请登录后继续。",
    "This server signs people in through a proxy (header `{header}`), and this page was opened "
    "without it. Open the app through your team's sign-in address.":
    "此服务器通过代理登录用户（请求头 `{header}`），而本页面不是经由该代理打开的。请通过团队的登录地址打开应用。",
    "The form is too large.": "表单内容过大。",
    "That form came from another site; sign in from this page.": "该表单来自其他网站，请在本页面登录。",
    "There are no accounts yet. An admin creates them with python -m glm4_app.users add NAME "
    "--admin (or sets GLM4_SIGNUP=first to create the first one here).":
    "还没有任何账号。管理员可以用 python -m glm4_app.users add NAME --admin 创建账号"
    "（或设置 GLM4_SIGNUP=first，在此创建第一个账号）。",
    "Create an account": "创建账号",
    "Create account": "创建账号",
    "This first account becomes the admin.": "第一个账号将成为管理员。",
    "Repeat the password": "再次输入密码",
    "At least 8 characters.": "至少 8 个字符。",
    "The passwords differ.": "两次输入的密码不一致。",
    "Back to sign in": "返回登录",
    "Sign out of GLM-4 in this browser?": "要在此浏览器上退出 GLM-4 吗？",
    # API keys and accounts (sidebar)
    "🔑 API keys": "🔑 API 密钥",
    "For editors, scripts and any OpenAI client: base URL `{url}`, the key as the API key.":
    "供编辑器、脚本和任何 OpenAI 客户端使用：base URL 为 `{url}`，密钥作为 API key。",
    "Copy your new key now: it is not shown again.": "请立即复制新密钥：它不会再次显示。",
    "✓ Copied, hide it": "✓ 已复制，隐藏",
    "Name of a new key": "新密钥的名称",
    "e.g. my editor": "例如：我的编辑器",
    "➕ Create key": "➕ 创建密钥",
    "made {made}, {used}": "创建于 {made}，{used}",
    "never used": "从未使用",
    "Revoke": "撤销",
    "👥 Accounts": "👥 账号",
    "Remove": "删除",
    "Remove {name}? Their sessions and API keys end; their conversations stay, should the name "
    "come back.": "要删除 {name} 吗？其登录会话和 API 密钥将失效；对话会保留，以备该用户名重新创建。",
    "Yes, remove": "确认删除",
    "Admin": "管理员",
    "Add account": "添加账号",
    "Added {name}.": "已添加 {name}。",
    "Login is set to OIDC (`GLM4_AUTH=oidc`) but it is not configured:\n\n{problems}":
    "登录方式为 OIDC（`GLM4_AUTH=oidc`），但尚未配置好：\n\n{problems}",
    # Per-user limits
    "⏳ {message}\n\nYour message is kept: press **▶️ Answer** to send it again.":
    "⏳ {message}\n\n你的消息已保留：点击 **▶️ 回答** 即可重新发送。",
    # Vision
    "the vision model": "视觉模型",
    "🖼 Attach images ({count} attached)": "🖼 添加图片（已添加 {count} 张）",
    "PNG, JPEG, BMP, TIFF, WEBP or GIF, up to {images} MB; {model} rules apply when you send":
    "支持 PNG、JPEG、BMP、TIFF、WEBP 或 GIF，最大 {images} MB；发送时按 {model} 的规则检查",
    "✕ Remove attached images": "✕ 移除已添加的图片",
    "Your message, not sent: {message}": "未发送的消息：{message}",
    "🆕 Start a new conversation with it": "🆕 用它开始新对话",
    "Keep this conversation": "保留当前对话",
    "🖼 image no longer available ({name})": "🖼 图片已不存在（{name}）",
    "Opens the image at full size in a new tab": "在新标签页中打开原尺寸图片",
    "Upload": "上传",
    """\
**Vision mode needs a vision model, and none is configured.**

Answers come from a model server here (`GLM4_BACKEND={backend}`): no weights are loaded in this
app, so serve a vision model and name it. Set `GLM4_VISION_MODEL` to the model name the server
serves (as `/v1/models` lists it, e.g. `THUDM/glm-4v-9b`, `zai-org/GLM-4.1V-9B-Thinking`,
`zai-org/GLM-4.5V`), and `GLM4_OPENAI_VISION_BASE_URL` to that server's address when it is not
the chat model's server (`{chat_server}`). Then restart the app.

GLM-4.5V and GLM-4.6V call tools here only with `GLM4_BACKEND=openai-chat`, from a server
that parses their calls (vLLM:
`--tool-call-parser glm45 --reasoning-parser glm45 --enable-auto-tool-choice`; SGLang: the
same parsers). With `GLM4_BACKEND=openai` they answer without tools.
""": """\
**视觉理解模式需要视觉模型，但当前未配置。**

当前由模型服务器生成回答（`GLM4_BACKEND={backend}`）：本应用不加载任何权重，请用服务器部署一个视觉模型并写明它的名字。
将 `GLM4_VISION_MODEL` 设为服务器提供的模型名（即 `/v1/models` 列出的名字，例如 `THUDM/glm-4v-9b`、
`zai-org/GLM-4.1V-9B-Thinking`、`zai-org/GLM-4.5V`）；如果它不在对话模型所在的服务器（`{chat_server}`）上，
再将 `GLM4_OPENAI_VISION_BASE_URL` 设为那台服务器的地址。然后重启应用。

GLM-4.5V 和 GLM-4.6V 只有在 `GLM4_BACKEND=openai-chat` 且服务器能解析它们的工具调用时才能调用工具
（vLLM：`--tool-call-parser glm45 --reasoning-parser glm45 --enable-auto-tool-choice`；SGLang：同样的解析器）。在 `GLM4_BACKEND=openai` 下它们回答时不使用工具。
""",
    "🔍 Full size": "🔍 查看原图",
    """\
**Vision mode needs a vision model, and none is configured.**

Set `GLM4_VISION_MODEL` and restart the app:

| Model | Setting | GPU memory (weights) |
|---|---|---|
| GLM-4V-9B (one image per conversation, 8K context) | `GLM4_VISION_MODEL=THUDM/glm-4v-9b` | ~28 GB in bf16, ~10 GB with `GLM4_VISION_QUANTIZATION=4bit` |
| GLM-4.1V-9B-Thinking (up to 10 images, PDFs as pages, boxes, reasons first) | `GLM4_VISION_MODEL=zai-org/GLM-4.1V-9B-Thinking` | ~22 GB in bf16, ~8 GB with `GLM4_VISION_QUANTIZATION=4bit` |
| GLM-4.6V-Flash (as GLM-4.1V, plus tools and a thinking switch) | `GLM4_VISION_MODEL=zai-org/GLM-4.6V-Flash` | ~22 GB in bf16, ~8 GB in 4-bit |
| GLM-4.5V / GLM-4.6V (106B mixture of experts) | serve them with vLLM and `GLM4_BACKEND=openai-chat` (for tools: `vllm serve ... --tool-call-parser glm45 --reasoning-parser glm45 --enable-auto-tool-choice`) | ~216 GB in bf16, ~60 GB in 4-bit |

A local folder holding the checkpoint works too. The chat model and the vision model can both
stay loaded; set `GLM4_MODEL_MEMORY_MB` to unload one when the other is needed and both would
not fit.
""": """\
**视觉理解模式需要视觉模型，但当前未配置。**

请设置 `GLM4_VISION_MODEL` 后重启应用：

| 模型 | 设置 | 显存（权重） |
|---|---|---|
| GLM-4V-9B（每段对话一张图片，8K 上下文） | `GLM4_VISION_MODEL=THUDM/glm-4v-9b` | bf16 约 28 GB，`GLM4_VISION_QUANTIZATION=4bit` 约 10 GB |
| GLM-4.1V-9B-Thinking（最多 10 张图片，PDF 按页发送，框选定位，先推理再回答） | `GLM4_VISION_MODEL=zai-org/GLM-4.1V-9B-Thinking` | bf16 约 22 GB，`GLM4_VISION_QUANTIZATION=4bit` 约 8 GB |
| GLM-4.6V-Flash（同 GLM-4.1V，另支持工具调用和思考开关） | `GLM4_VISION_MODEL=zai-org/GLM-4.6V-Flash` | bf16 约 22 GB，4-bit 约 8 GB |
| GLM-4.5V / GLM-4.6V（106B 混合专家模型） | 用 vLLM 部署，并设置 `GLM4_BACKEND=openai-chat`（要调用工具：`vllm serve ... --tool-call-parser glm45 --reasoning-parser glm45 --enable-auto-tool-choice`） | bf16 约 216 GB，4-bit 约 60 GB |

也可以使用存放权重的本地文件夹。对话模型和视觉模型可以同时加载；如果显存放不下两者，
请设置 `GLM4_MODEL_MEMORY_MB`，需要其中一个时自动卸载另一个。
""",
    # GLM-4.5+: the thinking switch (glm4_app/ui/thinking.py)
    "💭 Thinking": "💭 思考",
    "On: the model reasons first (shown folded), then answers. Off: it answers at once, faster.":
    "开启：模型先推理（折叠显示）再回答。关闭：直接回答，更快。",
    # Grounding (glm4_app/ui/grounding.py)
    "🔲 Show {count} boxes on the image": "🔲 在图片上显示 {count} 个框",
    # Vision: documents as page images (glm4_app/ui/vision.py)
    "Images up to {images} MB, or a PDF or PowerPoint up to {documents} MB sent as page images; "
    "{model} rules apply when you send":
    "图片（最大 {images} MB），或按页转成图片发送的 PDF、PowerPoint（最大 {documents} MB）；发送时遵循 {model} 的规则",
    "Drawing the pages of {name}…": "正在将 {name} 的页面转成图片…",
    "📄 {pages} of them are document pages": "📄 其中 {pages} 张是文档页面",
    # Long document: scanned PDFs read by the vision model (glm4_app/ui/scanned.py)
    "**{name}** has no text layer: its pages are pictures (a scan).": "**{name}** 没有文字层：它的页面是图片（扫描件）。",
    "A vision model can read it page by page: set `GLM4_VISION_MODEL` (e.g. "
    "`zai-org/GLM-4.1V-9B-Thinking` or `zai-org/GLM-4.6V-Flash`) and restart the app, then "
    "upload it again. Or OCR it first (e.g. with OCRmyPDF) and upload the result.":
    "视觉模型可以逐页识别它：设置 `GLM4_VISION_MODEL`（例如 `zai-org/GLM-4.1V-9B-Thinking` 或 "
    "`zai-org/GLM-4.6V-Flash`）并重启应用，然后重新上传。也可以先用 OCRmyPDF 等工具做 OCR，再上传结果。",
    "📷 Read it with {model}": "📷 用 {model} 识别",
    "Dismiss": "忽略",
    "Reading **{name}** stopped after {done} of {total} pages.": "识别 **{name}** 已在第 {done} / {total} 页后停止。",
    "Keep the {done} pages read": "保留已识别的 {done} 页",
    "Continue reading": "继续识别",
    "⏹ Stop reading": "⏹ 停止识别",
    "Stop here; the pages read so far can be kept": "在此停止；已识别的页面可以保留",
    "Starting…": "正在开始…",
    "📷 Reading page {page} of {pages} with {model}… {chars:,} characters":
    "📷 正在用 {model} 识别第 {page} / {pages} 页… 已得 {chars:,} 个字符",
    "📷 text recognised by {model}": "📷 文字由 {model} 识别",
    # Artifacts and rich outputs (ui/artifacts.py, ui/rich_output.py)
    "Web page": "网页",
    "SVG image": "SVG 图像",
    "Mermaid diagram": "Mermaid 图表",
    "HTML output": "HTML 输出",
    "SVG output": "SVG 输出",
    "👁 Preview": "👁 预览",
    "</> Code": "</> 代码",
    "This SVG is not well-formed XML, so it cannot be drawn: {problem}": "此 SVG 不是格式正确的 XML，无法绘制：{problem}",
    "Reload": "重新加载",
    "Full screen": "全屏",
    "Exit full screen": "退出全屏",
    "Download": "下载",
    "Open in a new tab": "在新标签页中打开",
    "Previous version": "上一个版本",
    "Next version": "下一个版本",
    "(this file is no longer on disk)": "（此文件已不在磁盘上）",
    "… (the rest is in the download)": "……（其余内容请下载查看）",
    "Showing {rows:,} of {total_rows:,} rows and {columns:,} of {total_columns:,} columns.":
    "显示 {total_rows:,} 行中的 {rows:,} 行、{total_columns:,} 列中的 {columns:,} 列。",
    "⚠️ An output ({what}, {size:,.1f} MB) was too large to show: the limit is {limit} MB.":
    "⚠️ 一个输出（{what}，{size:,.1f} MB）太大，无法显示：上限为 {limit} MB。",
    "(output no longer on disk: {name})": "（输出已不在磁盘上：{name}）",
    "⬇️ {name} is too large to download here ({mb:,.0f} MB)": "⬇️ {name} 太大，无法在此下载（{mb:,.0f} MB）",
    "⏸ Paused: a preview on this page stopped responding. This one comes back in a moment…":
    "⏸ 已暂停：本页的某个预览没有响应。此预览稍后会恢复…",
    "⛔ Stopped: a script in this preview never ends, and it froze the previews of this page. Reload to run it again.":
    "⛔ 已停止：此预览中的脚本永不结束，导致本页的预览卡住。点击重新加载可再次运行。",
    "⛔ Stopped: this page tried to open another address, and previews on this server may not use the network. Reload to run it again.":
    "⛔ 已停止：此页面试图打开另一个地址，而本服务器上的预览不允许使用网络。点击重新加载可再次运行。",
}
