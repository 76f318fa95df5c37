"""Find the links in a title or abstract: GitHub repositories exactly, everything else by kind.

Abstracts are copied from PDFs and LaTeX, so a URL may be wrapped in \\url{...} or
\\href{...}{...}, followed by {link text}, glued to sentence punctuation, or carry
escaped underscores (\\_). A wrong owner or repository name is a broken link, so
GitHub paths are checked against GitHub's own naming rules, and anything that does
not fit is not a repository.

A numbered citation glued to a URL ("https://example.org[12]") is not part of it. Any
other text urlsplit cannot read (a bracket or an NFKC-changing character in the host, a
port that is not a number) is skipped and handed back, for the build to warn about: one
odd link never stops a build.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# A URL starts with a scheme, "www.", or a bare host we know (github.com/x/y written
# without https://). It runs until whitespace, a brace, a quote or a LaTeX command;
# escaped LaTeX characters (\_ \% \# \& \~) are part of it.
_URL_BODY = r"(?:[^\s{}<>\"\\]|\\[_%#&~])+"
_BARE_HOST = (
    r"(?:www\.)?(?:github\.com|gitlab\.com|gitee\.com|huggingface\.co|pypi\.org|arxiv\.org"
    r"|doi\.org|youtu\.be|(?:www\.)?youtube\.com)/"
    r"|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.github\.io\b"
)
URL_RE = re.compile(rf"(?:https?://|www\.|(?<![\w@./-])(?={_BARE_HOST})){_URL_BODY}", re.I)
LATEX_ESCAPE = re.compile(r"\\([_%#&~])")
TRAILING = ".,;:!?'\"*"
CLOSERS = {")": "(", "]": "[", "}": "{"}
# "[12]", "[3,4]", "[5-7]" at the end; unclosed when the list went on after a space.
CITATION = re.compile(r"\[[0-9][0-9,;\u2013-]*\]?\Z")

# https://github.com/shinnn/github-username-regex: letters, digits, single inner hyphens.
GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
GITHUB_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")
# First path segments that are GitHub's own pages, not users or organisations.
GITHUB_RESERVED = frozenset(
    """about account apps blog collections contact customer-stories enterprise events explore
    features files gist issues join login logout marketplace new notifications orgs organizations
    password_reset pricing pulls readme search security settings site sponsors stars team
    topics trending users""".split()
)

SHORTENERS = frozenset({"aka.ms", "bit.ly", "tiny.cc", "ibm.biz", "goo.gl", "t.co", "tinyurl.com"})
HOST_KINDS = {
    "gitlab.com": "gitlab",
    "gitee.com": "gitee",
    "pypi.org": "pypi",
    "doi.org": "doi",
    "dx.doi.org": "doi",
    "arxiv.org": "arxiv",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "sites.google.com": "project_page",
    "zenodo.org": "zenodo",
    "colab.research.google.com": "colab",
    "openreview.net": "openreview",
}
HUGGINGFACE_KINDS = {"datasets": "huggingface_dataset", "spaces": "huggingface_space"}


@dataclass(frozen=True)
class RepoMention:
    owner: str
    name: str
    path: str | None  # e.g. 'tree/main/TinyViT', after owner/name
    as_written: str

    @property
    def full_name(self):
        return f"{self.owner}/{self.name}"

    @property
    def url(self):
        return f"https://github.com/{self.owner}/{self.name}"


@dataclass(frozen=True)
class Link:
    url: str
    host: str
    kind: str  # 'github_owner', 'github_pages', 'huggingface_model', 'gitlab', ... 'other'
    as_written: str


@dataclass(frozen=True)
class SkippedLink:
    """Text shaped like a URL that urlsplit cannot read, so no link was made of it."""

    as_written: str
    reason: str


class UnreadableLink(ValueError):
    """urlsplit refused the URL; the message says why in words a user can act on."""


# Every URL we accept holds one of these; most abstracts hold none, and str.find runs
# at memory speed where the URL expression would cost ~180 ns a character.
URL_ANCHORS = ("/", "www.", ".github.io")
_SPACE = re.compile(r"\s")


def _url_spans(text):
    """Spans of text around each URL anchor, in order; each holds the whole word it is in.

    A span starts after the last space before the anchor: other whitespace in between is
    fine, because the URL expression does not cross it.
    """
    spans = set()
    for anchor in URL_ANCHORS:
        pos = text.find(anchor)
        while pos != -1:
            start = text.rfind(" ", 0, pos) + 1
            space = _SPACE.search(text, pos)
            end = space.start() if space else len(text)
            spans.add((start, end))
            pos = text.find(anchor, end)
    return sorted(spans)


def extract_links(text, title=""):
    """Every link in `text`, in order, each once: RepoMention or Link objects.

    `title` helps tell a paper's own project page (its name in the host) from other sites.
    """
    return find_links(text, title)[0]


def find_links(text, title=""):
    """(links as extract_links gives them, [SkippedLink] for URLs that cannot be read)."""
    found = []
    skipped = []
    seen = set()
    matches = (m for start, end in _url_spans(text) for m in URL_RE.finditer(text, start, end))
    for match in matches:
        written = _trim(match.group())
        try:
            link = classify(LATEX_ESCAPE.sub(r"\1", written), written, title)
        except UnreadableLink as exc:
            skipped.append(SkippedLink(written, str(exc)))
            continue
        if link is None:
            continue
        identity = _identity(link)
        if identity not in seen:
            seen.add(identity)
            found.append(link)
    return found, skipped


def skipped_links(text):
    """find_links(text)[1], quickly. Only a bracket, a non-ASCII character or a port can
    make urlsplit refuse a URL, and few of the words holding one have any of these."""
    for start, end in _url_spans(text):
        word = text[start:end]
        if not word.isascii() or "[" in word or "]" in word or word.count(":") > word.count("://"):
            return find_links(text)[1]
    return []


def _identity(link):
    if isinstance(link, RepoMention):
        return ("repo", link.full_name.lower(), link.path)
    return ("link", link.url.rstrip("/").lower())


def _trim(url):
    """Drop sentence punctuation, unbalanced closing brackets and citations from the end."""
    while url:
        last = url[-1]
        unbalanced = last in CLOSERS and url.count(last) > url.count(CLOSERS[last])
        if last in TRAILING or unbalanced:
            url = url[:-1]
            continue
        citation = CITATION.search(url)
        if citation is None or citation.start() == 0:
            break
        url = url[: citation.start()]
    return url


def classify(url, as_written, title=""):
    """A RepoMention, a Link, or None when the text only looks like a URL.

    Raises UnreadableLink when urlsplit cannot read it.
    """
    parts = _split(url if "://" in url else "https://" + url)
    host = (parts.hostname or "").lower()
    if not host or "." not in host:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    bare_host = host.removeprefix("www.")
    if bare_host == "github.com":
        return _github(segments, url, as_written)
    if host.endswith(".github.io"):
        return Link(url, host, "github_pages", as_written)
    return Link(url, host, _kind(bare_host, segments, title), as_written)


def _split(url):
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        host = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0]
        if "[" in host or "]" in host:
            reason = "a bracket in its host name"
        elif not host.isascii():
            reason = "its host name changes under Unicode NFKC normalization"
        else:
            reason = str(exc)
        raise UnreadableLink(reason) from None
    try:
        parts.port  # noqa: B018 (urlsplit leaves the port unchecked until it is read)
    except ValueError:
        raise UnreadableLink("its port is not a number from 0 to 65535") from None
    return parts


def _github(segments, url, as_written):
    if not segments or not GITHUB_OWNER.fullmatch(segments[0]):
        return None
    owner = segments[0]
    if owner.lower() in GITHUB_RESERVED:
        return None
    if len(segments) == 1:
        return Link(f"https://github.com/{owner}", "github.com", "github_owner", as_written)
    name = segments[1].removesuffix(".git")
    if name in {".", ".."} or not GITHUB_REPO.fullmatch(name):
        return None
    path = "/".join(segments[2:]) or None
    return RepoMention(owner=owner, name=name, path=path, as_written=as_written)


def _kind(host, segments, title):
    if host == "huggingface.co":
        if segments and segments[0] in HUGGINGFACE_KINDS:
            return HUGGINGFACE_KINDS[segments[0]]
        return "huggingface_model" if len(segments) >= 2 else "huggingface"
    if host in HOST_KINDS:
        return HOST_KINDS[host]
    if host.endswith(".youtube.com"):
        return "youtube"
    if host in SHORTENERS:
        return "shortlink"
    if _names_the_paper(host, segments, title):
        return "project_page"
    return "other"


_WORD = re.compile(r"[a-z0-9]{4,}")
_NOT_A_NAME = re.compile(r"[^a-z0-9]+")
# Title words too common to identify a paper's own site.
GENERIC_TITLE_WORDS = frozenset(
    """data deep efficient language large learning model models network networks neural
    scale training transformer transformers vision with from towards""".split()
)


def _names_the_paper(host, segments, title):
    """A site whose address carries a distinctive word of the paper's title is its project page.

    ("Nerfstudio: ..." at nerf.studio, "Gorilla: ..." at gorilla.cs.berkeley.edu.)
    """
    where = _NOT_A_NAME.sub("", (host + "/" + "/".join(segments)).lower())
    words = set(_WORD.findall(title.lower())) - GENERIC_TITLE_WORDS
    return any(word in where for word in words)
