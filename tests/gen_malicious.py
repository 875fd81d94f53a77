#!/usr/bin/python3
"""Writes the malicious corpus: files whose pickles would run a command under a plain torch.load or pickle.load.

usage: gen_malicious.py OUT_DIR

Every payload runs `touch OUT_DIR/CANARY`. The tests open and scan every file and then check that the canary
does not exist: nothing may ever be executed. Nothing here loads these files. expected.json lists, per file,
the globals that must be reported dangerous.
"""
import collections
import functools
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import torch


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    canary = os.path.join(out, "CANARY")
    cmd = f"touch {canary}"
    expected = {}

    class Reduce:
        def __init__(self, func, *args):
            self.func, self.args = func, args

        def __reduce__(self):
            return self.func, self.args

    def raw(name, data, dangerous):
        with open(os.path.join(out, name), "wb") as fh:
            fh.write(data)
        expected[name] = dangerous

    raw("os_system.pkl", pickle.dumps(Reduce(os.system, cmd), protocol=2), ["posix.system"])
    raw("proto0_text.pkl", f"cos\nsystem\n(S'{cmd}'\ntR.".encode(), ["os.system"])
    raw("exec.pkl", pickle.dumps(Reduce(exec, f"import os; os.system({cmd!r})"), protocol=3), ["builtins.exec"])
    raw("eval.pkl", pickle.dumps(Reduce(eval, f"__import__('os').system({cmd!r})"), protocol=4), ["builtins.eval"])
    raw("subprocess.pkl", pickle.dumps(Reduce(subprocess.Popen, ["touch", canary]), protocol=4), ["subprocess.Popen"])
    raw("partial.pkl", pickle.dumps(functools.partial(os.system, cmd), protocol=2), ["functools.partial", "posix.system"])
    # Two pickles in one file, the second importing functools.partial harmlessly: the first's "wraps posix.system"
    # must stay dangerous.
    raw("partial_then_harmless.pkl", pickle.dumps(functools.partial(os.system, cmd), protocol=2)
        + pickle.dumps(functools.partial(int, "7"), protocol=2), ["functools.partial", "posix.system"])
    # getattr(__import__('os'), 'system')(cmd), assembled by hand: a getattr chain no __reduce__ writes.
    chain = (b"\x80\x02cbuiltins\ngetattr\n(cbuiltins\n__import__\n(X\x02\x00\x00\x00ostRX\x06\x00\x00\x00systemtR(X"
             + struct.pack("<I", len(cmd)) + cmd.encode() + b"tR.")
    raw("getattr_chain.pkl", chain, ["builtins.getattr", "builtins.__import__"])
    # STACK_GLOBAL whose module and name strings come back from the memo the second time.
    memo = (b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x94(\x8c" + bytes([len(cmd)]) + cmd.encode()
            + b"tR0h\x00h\x01\x93(\x8c" + bytes([len(cmd)]) + cmd.encode() + b"tR.")
    raw("stack_global_memo.pkl", memo, ["os.system"])
    raw("runpy.pkl", pickle.dumps(Reduce(__import__("runpy").run_path, "/nonexistent.py"), protocol=2), ["runpy.run_path"])

    def torch_file(name, obj, dangerous, **kw):
        torch.save(obj, os.path.join(out, name), **kw)
        expected[name] = dangerous

    weights = collections.OrderedDict(w=torch.ones(2, 2))
    torch_file("in_state_dict.pth", {"model": weights, "evil": Reduce(os.system, cmd)}, ["posix.system"])
    # torch.save drops backward hooks, so the tensor's reduce is written by hand: _rebuild_tensor_v2 with an
    # OrderedDict of "hooks" whose value is the payload, in a zip laid out as torch writes it.
    class HookedTensor:
        def __reduce__(self):
            hooks = collections.OrderedDict({0: Reduce(os.system, cmd)})
            return torch._utils._rebuild_tensor_v2, (StorageRef(), 0, (3,), (1,), False, hooks)

    class StorageRef:
        pass

    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=2)
    pickler.persistent_id = lambda o: ("storage", torch.FloatStorage, "0", "cpu", 3) if isinstance(o, StorageRef) else None
    pickler.dump({"w": HookedTensor()})
    with zipfile.ZipFile(os.path.join(out, "backward_hooks.pth"), "w") as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/data/0", struct.pack("<3f", 1, 2, 3))
        z.writestr("archive/version", "3\n")
    expected["backward_hooks.pth"] = ["posix.system|os.system"]
    torch_file("optimizer_state.pth", {"model": weights, "optimizer": {
        "state": {0: {"step": 3, "exp_avg": torch.zeros(2, 2), "evil": Reduce(subprocess.call, ["touch", canary])}},
        "param_groups": [{"lr": 0.1, "params": [0]}]}}, ["subprocess.call|commands.call"])
    torch_file("legacy.pth", {"w": torch.ones(2), "evil": Reduce(os.system, cmd)}, ["posix.system"],
               _use_new_zipfile_serialization=False)
    torch_file("webbrowser.pth", {"w": torch.ones(1), "evil": Reduce(__import__("webbrowser").open, "http://127.0.0.1/")},
               ["webbrowser.open"])
    # A clean torch file with a second pickle record a scanner must also read.
    clean = os.path.join(out, "extra_record.pth")
    torch.save({"w": torch.ones(2)}, clean)
    with zipfile.ZipFile(clean, "a") as z:
        prefix = z.namelist()[0].split("/")[0]
        z.writestr(f"{prefix}/extra/hook.pkl", pickle.dumps(Reduce(os.system, cmd), protocol=2))
    expected["extra_record.pth"] = ["posix.system"]

    with open(os.path.join(out, "expected.json"), "w") as fh:
        json.dump({"canary": canary, "files": expected}, fh, indent=1)


if __name__ == "__main__":
    main()
