#!/usr/bin/env python3
"""check_examples.py - examples in the man pages and the README must not rot.

Reads every EXAMPLES section of man/*.[157] and every code block of
README.md, splits the commands at pipes, and for each fs tool invoked
checks that every option it is given is one the tool's --help lists.
Prints one line per problem, "FILE: TOOL OPTION: not an option of TOOL",
and exits 1 if there is any.

usage: check_examples.py ROOT BINDIR
"""
import os
import re
import shlex
import subprocess
import sys


def mdoc_examples(path):
    """The literal blocks of a man page's EXAMPLES section, as text."""
    blocks, cur, in_ex, in_lit = [], [], False, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(".Sh "):
                in_ex = line[4:].strip() == "EXAMPLES"
                continue
            if not in_ex:
                continue
            if line.startswith(".Bd") and "-literal" in line:
                in_lit, cur = True, []
            elif line.startswith(".Ed") and in_lit:
                in_lit = False
                blocks.append("\n".join(cur))
            elif in_lit and not line.startswith(".\\\""):
                cur.append(line.replace("\\e", "\\").replace("\\-", "-")
                           .replace("\\&", "").replace("\\(dq", '"'))
    return blocks


def readme_blocks(path):
    """Indented (4 spaces) and fenced code blocks of a Markdown file."""
    blocks, cur, fenced = [], [], False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("```"):
                if fenced:
                    blocks.append("\n".join(cur))
                fenced, cur = not fenced, []
            elif fenced:
                cur.append(line)
            elif line.startswith("    "):
                cur.append(line[4:])
            elif cur and line.strip() == "":
                cur.append("")
            elif cur:
                blocks.append("\n".join(cur))
                cur = []
    if cur:
        blocks.append("\n".join(cur))
    return blocks


def commands(block):
    """Shell commands of a block: continuation lines joined, split at
    pipes and semicolons, comments dropped."""
    text = re.sub(r"\\\n", " ", block)
    for line in text.split("\n"):
        line = re.sub(r"(^|\s)#.*$", "", line)
        for part in re.split(r"\|\||&&|[|;]", line):
            part = part.strip()
            if part:
                yield part


def help_options(tool, bindir, cache):
    if tool not in cache:
        out = subprocess.run([os.path.join(bindir, tool), "--help"],
                             capture_output=True, text=True).stdout
        opts = set(re.findall(r"(?:^|[\s,\[|(])(--[a-z][a-z0-9-]*|-[A-Za-z0-9])\b", out))
        cache[tool] = opts
    return cache[tool]


def check_command(cmd, source, bindir, cache, problems):
    try:
        words = shlex.split(cmd, posix=True)
    except ValueError:
        return          # prose that looks like code; not a command
    while words and re.match(r"^[A-Z_]+=", words[0]):
        words.pop(0)    # VAR=value prefixes
    if not words or not words[0].startswith("fs-"):
        return
    tool = words[0]
    if not os.access(os.path.join(bindir, tool), os.X_OK):
        problems.append(f"{source}: {tool}: no such tool")
        return
    known = help_options(tool, bindir, cache)
    for w in words[1:]:
        if w == "--" or w.startswith("<") or w.startswith(">"):
            break
        m = re.match(r"^(--[a-z][a-z0-9-]*)(=.*)?$", w)
        if m:
            opt = m.group(1)
        elif re.match(r"^-[A-Za-z0-9]", w) and not re.match(r"^-\d", w):
            opt = w[:2]
        else:
            continue
        if opt not in known:
            problems.append(f"{source}: {tool} {opt}: not an option of {tool}")


def main():
    root, bindir = sys.argv[1], sys.argv[2]
    sources = []
    mandir = os.path.join(root, "man")
    for name in sorted(os.listdir(mandir)):
        if re.search(r"\.[157]$", name):
            sources.append((f"man/{name}", mdoc_examples(os.path.join(mandir, name))))
    sources.append(("README.md", readme_blocks(os.path.join(root, "README.md"))))
    cache, problems, checked = {}, [], 0
    for source, blocks in sources:
        for block in blocks:
            for cmd in commands(block):
                before = len(problems)
                check_command(cmd, source, bindir, cache, problems)
                checked += cmd.startswith("fs-") and len(problems) == before
    for p in problems:
        print(p)
    print(f"{checked} example commands checked, {len(problems)} problems",
          file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
