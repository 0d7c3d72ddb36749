#!/usr/bin/env bash
# The merge request `preview` job (.gitlab-ci.yml; docs/pipeline.md). For each stack in
# $PULUMI_STACKS:
#   - `pulumi preview --diff --policy-pack policy`              -> preview/<stack>.preview.txt
#   - the offline plan with --policy and, when the merge request's base commit can be planned,
#     --base <that commit's plan>                               -> preview/<stack>.plan.txt
# then one merge request note (tools/post-mr-note.ts) that starts with preview/summary.txt: per
# stack, the containers a merge would replace, with or without downtime, and the data volumes it
# would replace or stop managing, or why there is no comparison. Exits 1 naming every failed
# preview or plan, after the note is posted. A base that cannot be planned is said in the summary
# and in the stack's plan file; it fails nothing by itself.
#
# The base is the target branch's head in a merged results pipeline (HEAD is then the merge),
# else the merge base GitLab shows the diff against (CI_MERGE_REQUEST_DIFF_BASE_SHA). It is
# planned in a `git worktree` with this job's node_modules.
set -u

out=preview
summary="$out/summary.txt"
mkdir -p "$out/base"
: >"$summary"
failed=""

say() { printf '%s\n' "$*" >>"$summary"; }
have_commit() { git cat-file -e "$1^{commit}" 2>/dev/null; }
# The last non-empty line of a file, for a one-line reason.
last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | sed 's/^[[:space:]]*//'; }

base_sha="${CI_MERGE_REQUEST_TARGET_BRANCH_SHA:-${CI_MERGE_REQUEST_DIFF_BASE_SHA:-}}"
target="${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-the target branch}"
git_log="$out/base/git.log"
: >"$git_log"
base_problem=""
worktree=""
if [ -z "$base_sha" ]; then
    base_problem="no base commit (CI_MERGE_REQUEST_DIFF_BASE_SHA is not set)"
elif ! command -v git >/dev/null; then
    base_problem="git is not installed in the job image"
else
    if ! have_commit "$base_sha"; then
        # A shallow clone (GIT_DEPTH) often lacks it: fetch that commit, else the target branch.
        git fetch --quiet --depth=1 origin "$base_sha" >>"$git_log" 2>&1 ||
            { [ -n "${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-}" ] &&
                git fetch --quiet origin "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME" >>"$git_log" 2>&1; }
    fi
    if ! have_commit "$base_sha"; then
        base_problem="base commit $base_sha is not in the clone and could not be fetched ($(last_line "$git_log"))"
    else
        worktree="$(mktemp -d)/base"
        if git worktree add --quiet --detach "$worktree" "$base_sha" >>"$git_log" 2>&1; then
            trap 'git worktree remove --force "$worktree" >/dev/null 2>&1; rm -rf "${worktree%/base}"' EXIT
            ln -s "$PWD/node_modules" "$worktree/node_modules"
        else
            base_problem="git worktree add $base_sha failed ($(last_line "$git_log"))"
        fi
    fi
fi
base_short="${base_sha:0:8}"
lock_note=""
if [ -z "$base_problem" ] && ! git diff --quiet "$base_sha" HEAD -- package-lock.json 2>/dev/null; then
    lock_note=" (package-lock.json differs: the base was planned with this commit's dependencies)"
fi

# Plans the base for one stack into $out/base/<stack>.json; prints why not, if it cannot.
plan_base() {
    local stack="$1" err="$out/base/$1.err"
    if [ -n "$base_problem" ]; then
        echo "$base_problem"
    elif ! git cat-file -e "$base_sha:Pulumi.$stack.yaml" 2>/dev/null; then
        echo "Pulumi.$stack.yaml does not exist at $base_short (a stack new in this merge request?)"
    elif ! (cd "$worktree" && npm run --silent plan -- --stack "$stack" --json) \
        >"$out/base/$stack.json" 2>"$err"; then
        echo "the plan of $base_short failed ($(last_line "$err"); see $err)"
    fi
}

for stack in $PULUMI_STACKS; do
    echo "== pulumi preview --diff --stack $stack"
    pulumi preview --stack "$stack" --diff --policy-pack policy --non-interactive --color never \
        >"$out/$stack.preview.txt" 2>&1 || failed="$failed $stack:preview"

    # The offline plan applies the same policies with the secret and retainOnDelete checks that
    # @pulumi/policy cannot see under the CLI (docs/policy.md); --base adds what a merge replaces.
    echo "== offline plan --stack $stack --policy, against $target at ${base_short:-(none)}"
    plan="$out/$stack.plan.txt"
    why="$(plan_base "$stack")"
    if [ -z "$why" ]; then
        base_file="$out/base/$stack.json"
        {
            echo "Compared with the plan of $target at $base_short$lock_note."
            npm run --silent plan -- --stack "$stack" --policy --base "$base_file" 2>&1
        } >"$plan"
        status=$?
        # A base plan this commit's code cannot read is the base's problem, not this stack's.
        refused="$(grep -F -e "plan: $base_file is not" -e "plan: cannot read $base_file" "$plan")"
        if [ "$status" -ne 0 ] && [ -n "$refused" ]; then
            why="this commit's plan cannot read the base's plan ($refused)"
        elif [ "$status" -ne 0 ]; then
            failed="$failed $stack:plan"
        fi
    fi
    if [ -n "$why" ]; then
        {
            echo "No comparison with $target: $why. This is the plan of this commit alone:" \
                "replacements, downtime and data volumes at risk are not shown."
            npm run --silent plan -- --stack "$stack" --policy 2>&1
        } >"$plan" || failed="$failed $stack:plan"
    fi

    if [ -n "$why" ]; then
        say "$stack: no comparison with $target: $why"
    elif [ -n "$(sed -n '/^Changes against /,/^$/{/^  /p}' "$plan")" ]; then
        say "$stack: against $target at $base_short$lock_note:"
        sed -n '/^Changes against /,/^$/{/^  /p}' "$plan" >>"$summary"
    else
        say "$stack: no comparison with $target: the plan failed before comparing (see $stack.plan.txt)"
    fi
done
[ -z "$failed" ] || say "failed:$failed"

cat "$summary" "$out"/*.preview.txt "$out"/*.plan.txt
# One note per job, updated by each push: the key must not change with the commit.
npx ts-node --transpile-only tools/post-mr-note.ts --title "Pulumi preview for ${CI_COMMIT_SHORT_SHA:-HEAD}" \
    --key "${CI_JOB_NAME:-preview}" --out "$out/note.md" \
    "$summary" "$out"/*.preview.txt "$out"/*.plan.txt || failed="$failed note"
if [ -n "$failed" ]; then
    echo "failed:$failed"
    exit 1
fi
