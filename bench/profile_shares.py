"""Where a profiled process's CPU went, by kind of work: the shares of
bench/README.md's tables, from the folded stacks bench/profile.sh keeps
(target/fp/*.folded). A sample counts once in every category its stack
touches, so categories nest (the indented ones are parts of the line above).
The last lines split the samples outside the kernel: sqlx's own work
(without the sends and receives it asks the kernel for) and the rest.

    python3 bench/profile_shares.py FOLDED...
"""
import sys

KERNEL = ["entry_SYSCALL_64_after_hwframe", "asm_sysvec_apic_timer_interrupt", "asm_common_interrupt"]
SQLX = ["sqlx_core::", "sqlx_mysql::", "sqlx_sqlite::"]

# (label, frames any of which puts a sample in it, frames all of which must
# also be there). A name ending in `::` is a Rust path prefix, matched anywhere
# in a frame (`<sqlx_core::...>`); any other name is a whole frame.
CATEGORIES = [
    ("send (tcp_sendmsg)", ["tcp_sendmsg"], []),
    ("  the receiver's TCP stack, run inline (tcp_v4_rcv)", ["tcp_v4_rcv"], ["tcp_sendmsg"]),
    ("    of it waking the receiver (sock_def_readable)", ["sock_def_readable"], ["tcp_sendmsg"]),
    ("recv (tcp_recvmsg)", ["tcp_recvmsg"], []),
    ("epoll_wait", ["do_epoll_wait"], []),
    ("futex: waiting", ["futex_wait"], []),
    ("futex: waking another thread", ["futex_wake"], []),
    ("switched out (schedule, on any path)", ["schedule", "__schedule"], []),
    ("sqlx", SQLX, []),
    ("  MySQL column definitions", ["sqlx_mysql::connection::executor::recv_result_metadata::"], []),
    ("  SQLite itself (sqlite3*)", ["sqlite3VdbeExec", "sqlite3_step", "sqlite3_prepare_v3"], []),
    ("WebSocket framing (tungstenite)", ["tungstenite::", "tokio_tungstenite::"], []),
    ("JSON (serde_json)", ["serde_json::"], []),
    ("schema validation (jsonschema)", ["jsonschema::"], []),
    ("malloc / free", ["malloc", "free", "_int_malloc", "_int_free", "realloc", "_int_realloc", "cfree"], []),
    ("in the kernel (a syscall or an interrupt)", KERNEL, []),
]


def frames(stack):
    """The frame names of one folded stack (the kernel's `_[k]` marks dropped)."""
    return {frame.strip().removesuffix("_[k]") for frame in stack.split(";")}


def touches(names, patterns):
    """Whether any frame matches any of `patterns`."""
    return any(any(p in name for name in names) if p.endswith("::") else p in names for p in patterns)


def shares(path):
    """Total samples, per-category counts, and user-space samples and their sqlx part."""
    total, counts, user, user_sqlx = 0, [0] * len(CATEGORIES), 0, 0
    for line in open(path):
        stack, _, samples = line.rstrip("\n").rpartition(" ")
        samples = int(samples)
        total += samples
        names = frames(stack)
        for i, (_, any_of, all_of) in enumerate(CATEGORIES):
            if touches(names, any_of) and all(touches(names, [n]) for n in all_of):
                counts[i] += samples
        if not touches(names, KERNEL):
            user += samples
            user_sqlx += samples if touches(names, SQLX) else 0
    return total, counts, user, user_sqlx


for path in sys.argv[1:]:
    total, counts, user, user_sqlx = shares(path)
    share = lambda count: f"{100 * count / max(total, 1):6.1f}%"
    print(f"== {path}: share of the process's samples")
    for (label, _, _), count in zip(CATEGORIES, counts):
        print(f"{share(count)}  {label}")
    print(f"{share(user)}  in user space")
    print(f"{share(user_sqlx)}    sqlx")
    print(f"{share(user - user_sqlx)}    the rest (the process's own code, tokio, JSON, WebSocket, allocation)")
