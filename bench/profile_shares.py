"""Where a profiled process's CPU went, by kind of work: the shares of
bench/README.md's tables, from the folded stacks bench/profile.sh keeps
(target/fp/*.folded). A sample counts once in every category its stack
touches, so categories nest (the indented ones are parts of the line above);
the categories after "in user space" count only samples outside the kernel
(sqlx's own work, without the sends and receives it asks the kernel for).

    python3 bench/profile_shares.py FOLDED...
"""
import sys

KERNEL = ["entry_SYSCALL_64_after_hwframe", "asm_sysvec_apic_timer_interrupt", "asm_common_interrupt"]

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
    ("sqlx", ["sqlx_core::", "sqlx_mysql::", "sqlx_sqlite::"], []),
    ("  MySQL column definitions", ["sqlx_mysql::connection::executor::recv_result_metadata::"], []),
    ("  SQLite itself (sqlite3*)", ["sqlite3VdbeExec", "sqlite3_step", "sqlite3_prepare_v3"], []),
    ("WebSocket framing (tungstenite)", ["tungstenite::", "tokio_tungstenite::"], []),
    ("JSON (serde_json)", ["serde_json::"], []),
    ("schema validation (jsonschema)", ["jsonschema::"], []),
    ("malloc / free", ["malloc", "free", "_int_malloc", "_int_free", "realloc", "_int_realloc", "cfree"], []),
    ("in the kernel (a syscall or an interrupt)", KERNEL, []),
    ("in user space", [], []),
    ("  sqlx", ["sqlx_core::", "sqlx_mysql::", "sqlx_sqlite::"], []),
]


def frames(stack):
    """The frame names of one folded stack (the kernel's `_[k]` marks dropped)."""
    return {frame.strip().removesuffix("_[k]") for frame in stack.split(";")}


def touches(names, pattern):
    if pattern.endswith("::"):
        return any(pattern in name for name in names)
    return pattern in names


def shares(path):
    total, counts = 0, [0] * len(CATEGORIES)
    for line in open(path):
        stack, _, samples = line.rstrip("\n").rpartition(" ")
        samples = int(samples)
        total += samples
        names = frames(stack)
        in_kernel = any(n in names for n in KERNEL)
        user_space = False
        for i, (label, any_of, all_of) in enumerate(CATEGORIES):
            if label == "in user space":
                user_space = True
                counts[i] += 0 if in_kernel else samples
                continue
            if user_space and in_kernel:
                continue
            if any(touches(names, n) for n in any_of) and all(touches(names, n) for n in all_of):
                counts[i] += samples
    return total, counts


for path in sys.argv[1:]:
    total, counts = shares(path)
    print(f"== {path}: share of the process's samples")
    for (label, _, _), count in zip(CATEGORIES, counts):
        print(f"{100 * count / max(total, 1):6.1f}%  {label}")
    user, sqlx = counts[-2], counts[-1]
    print(f"{100 * (user - sqlx) / max(total, 1):6.1f}%    the rest (the process's own code, tokio, JSON, WebSocket, allocation)")
