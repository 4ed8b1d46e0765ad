"""Compiling the CUDA sources in tests: with nvcc to PTX, and with a C++ compiler for the CPU.

Both compile the text the loader hands CuPy (``kernels.cuda.read_source``) plus a
reference to every template instantiation the loader asks for
(``kernels.cuda.name_expressions``), so each template is instantiated - and its
errors found - for every type CuPy would compile it for.
"""
import ctypes
import os
import shutil
import subprocess

import numpy as np

from kernels import cuda

HERE = os.path.dirname(os.path.abspath(__file__))


class CompileError(RuntimeError):
    """A compiler rejected a source; the message holds its command and diagnostics."""


def find_nvcc():
    """Path of nvcc (PATH, $CUDA_PATH/bin, /usr/local/cuda/bin), or None."""
    found = shutil.which("nvcc")
    if found:
        return found
    for root in (os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if root and os.path.isfile(os.path.join(root, "bin", "nvcc")):
            return os.path.join(root, "bin", "nvcc")
    return None


def find_cuda_include():
    """A folder holding cuda_fp16.h ($CUDA_PATH, /usr/local/cuda, or beside nvcc), or None."""
    roots = [os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    nvcc = find_nvcc()
    if nvcc:
        roots.append(os.path.dirname(os.path.dirname(os.path.realpath(nvcc))))
    for root in roots:
        if root and os.path.isfile(os.path.join(root, "include", "cuda_fp16.h")):
            return os.path.join(root, "include")
    return None


def find_cxx():
    return shutil.which("g++") or shutil.which("c++")


def _run(command):
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise CompileError(f"{' '.join(command)} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")


# --- nvcc ------------------------------------------------------------------------------------------------------

def nvcc_program(source, text=None):
    """``source`` as CuPy compiles it, plus the address of every instantiation (so each one is generated)."""
    text = cuda.read_source(source) if text is None else text
    refs = ",\n".join(f"    (void*)&{name}" for name in cuda.name_expressions(source))
    return f"{text}\n// Every instantiation kernels.cuda names (the test's addition).\nvoid* tinynet_instantiations[] = {{\n{refs}\n}};\n"


def compile_ptx(program, arch, workdir, name="program"):
    """Compile CUDA C++ ``program`` to PTX for ``arch`` (e.g. sm_80); return the PTX. Warnings are errors."""
    src = os.path.join(workdir, f"{name}.cu")
    ptx = os.path.join(workdir, f"{name}.{arch}.ptx")
    with open(src, "w", encoding="utf-8") as f:
        f.write(program)
    _run([find_nvcc(), "-ptx", f"-arch={arch}", *cuda.COMPILE_OPTIONS, "--Werror", "all-warnings", src, "-o", ptx])
    with open(ptx, encoding="utf-8") as f:
        return f.read()


# --- the CPU -------------------------------------------------------------------------------------------------

def host_program(source):
    """``source`` with the host shim in front and two C entry points per instantiation."""
    lines = ['#include "cuda_host_shim.h"', cuda.read_source(source), 'extern "C" {']
    for i, name in enumerate(cuda.name_expressions(source)):
        lines.append(f"int tinynet_param_codes_{i}(int* out) {{ return host_param_codes(&{name}, out); }}")
        lines.append(f"void tinynet_launch_{i}(void** args, unsigned int grid, unsigned int block) "
                     f"{{ host_launch(&{name}, args, grid, block); }}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def build_host_module(source, workdir):
    """Compile ``source`` for the CPU into a shared library; return a ``HostModule`` over it."""
    stem = source.replace(".", "_")
    cpp = os.path.join(workdir, f"host_{stem}.cpp")
    lib = os.path.join(workdir, f"host_{stem}.so")
    with open(cpp, "w", encoding="utf-8") as f:
        f.write(host_program(source))
    _run([find_cxx(), "-std=c++14", "-O1", "-shared", "-fPIC", "-ffp-contract=off", "-Wall", "-Wextra",
          f"-I{find_cuda_include()}", f"-I{HERE}", cpp, "-o", lib])
    return HostModule(ctypes.CDLL(lib), cuda.name_expressions(source))


class HostModule:
    """Stands in for ``cupy.RawModule``: ``get_function(name_expression)``."""

    def __init__(self, lib, names):
        self.lib, self.names = lib, list(names)

    def get_function(self, name):
        return HostKernel(self.lib, self.names.index(name), name)


class HostKernel:
    """Stands in for ``cupy.RawKernel``: ``kernel(grid, block, args)`` with NumPy arrays and NumPy scalars.

    Each argument is checked against its parameter - an array for a pointer, with the
    pointee's item size; a scalar of exactly the parameter's size - because CUDA copies
    sizeof(parameter) bytes from whatever it is handed and never complains.
    """

    def __init__(self, lib, index, name):
        self.name = name
        self._launch = getattr(lib, f"tinynet_launch_{index}")
        self._launch.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_uint, ctypes.c_uint]
        self._launch.restype = None
        codes = (ctypes.c_int * 64)()
        count = getattr(lib, f"tinynet_param_codes_{index}")(codes)
        self.codes = list(codes[:count])

    def __call__(self, grid, block, args):
        if len(grid) != 1 or len(block) != 1 or not 1 <= block[0] <= 1024 or grid[0] < 1:
            raise ValueError(f"{self.name}: bad launch geometry grid={grid} block={block}")
        if len(args) != len(self.codes):
            raise TypeError(f"{self.name}: {len(args)} arguments for {len(self.codes)} parameters")
        keep, pointers = [], (ctypes.c_void_p * len(args))()
        for k, (a, code) in enumerate(zip(args, self.codes)):
            if isinstance(a, np.ndarray):
                if code >= 0 or a.dtype.itemsize != -code or not a.flags.c_contiguous:
                    raise TypeError(f"{self.name}: argument {k} is a {a.dtype} array "
                                    f"(contiguous: {a.flags.c_contiguous}); parameter code {code}")
                holder = ctypes.c_void_p(a.ctypes.data)
                pointers[k] = ctypes.addressof(holder)
            elif isinstance(a, np.generic):
                if code <= 0 or a.dtype.itemsize != code:
                    raise TypeError(f"{self.name}: argument {k} is a {a.dtype} scalar; parameter code {code}")
                holder = np.array(a)
                pointers[k] = holder.ctypes.data
            else:
                raise TypeError(f"{self.name}: argument {k} is a {type(a).__name__}; pass NumPy scalars")
            keep.append(holder)
        self._launch(pointers, int(grid[0]), int(block[0]))
