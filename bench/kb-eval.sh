#!/usr/bin/env bash
#
# bench/kb-eval.sh: the one command that produces the knowledge-base search
# figures for docs/benchmarks.md ("The AI bot's search"). It builds
# rapport-bench in release, fetches the embedding model with
# scripts/fetch-model, and runs `rapport-bench kb-eval` twice on the
# labelled sample (samples/knowledge-base): without the model (BM25 alone,
# as a server without it searches) and with it (BM25, embeddings alone and
# hybrid). Each prints recall@1, recall@3 and MRR by kind of question, the
# refusals at each threshold, and search latency with 1,000 and 10,000
# articles (the sample's sections recombined), p50 and p99 over three
# rounds of the 199 questions, on one thread.
#
#   bench/kb-eval.sh            both runs
#   NO_MODEL=1 bench/kb-eval.sh  BM25 alone
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --release --locked -p rapport-bench >&2
bin=target/release/rapport-bench

echo "## Without the model"
"$bin" kb-eval --sample samples/knowledge-base
if [[ "${NO_MODEL:-}" != 1 ]]; then
    model_env=$(scripts/fetch-model)
    echo
    echo "## With all-MiniLM-L6-v2"
    # One thread for the model as for the rest: the figures compare.
    RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-1} \
        "$bin" kb-eval --sample samples/knowledge-base --model "${model_env#export RAPPORT_EMBEDDING_MODEL=}"
fi
