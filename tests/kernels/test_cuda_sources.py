"""Every CUDA source compiles with nvcc to PTX for sm_80 (A100) and sm_90 (H100), with every
template instantiation the loader asks CuPy for, and without a warning.

CuPy compiles the same text with NVRTC at run time; this catches syntax and type errors on a
machine without a GPU (or CuPy). Skipped, with the reason, where nvcc is not installed.
"""
import glob
import os
import re

import pytest

from kernels import cuda
from tests.kernels.cuda_tools import CompileError, compile_ptx, find_nvcc, nvcc_program

needs_nvcc = pytest.mark.skipif(
    find_nvcc() is None,
    reason="nvcc (CUDA toolkit) not found on PATH, in $CUDA_PATH/bin or /usr/local/cuda/bin: "
           "the .cu sources are compiled only by CuPy at run time",
)
ARCHS = ["sm_80", "sm_90"]
SOURCES = sorted(cuda.KERNELS)


def test_every_cu_file_is_loaded():
    # A .cu file that the loader does not list would never be compiled or tested.
    on_disk = sorted(os.path.basename(p) for p in glob.glob(os.path.join(cuda.SOURCE_DIR, "*.cu")))
    assert on_disk == SOURCES


def test_read_source_pastes_the_shared_header():
    # CuPy hashes the source text for its cache, so the header must be in it, not behind an #include.
    for source in SOURCES:
        text = cuda.read_source(source)
        assert not re.search(r'^#include "common.cuh"', text, re.M)
        assert text.count("#define TINYNET_COMMON_CUH") == 1


def test_name_expressions_cover_every_type():
    # float, double, __half and bfloat16; 32- and 64-bit indices; the three argmax types of max-pool.
    names = cuda.name_expressions("pool.cu")
    assert "maxpool_forward_kernel<__half, unsigned char, int>" in names
    assert "maxpool_forward_kernel<tinynet::bf16, unsigned short, int>" in names
    assert "maxpool_backward_kernel<double, long long, long long>" in names
    assert len(names) == 2 * 4 * 3 * 2
    assert "im2col_kernel<float, int>" in cuda.name_expressions("im2col.cu")


@needs_nvcc
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("source", SOURCES)
def test_source_compiles_to_ptx(source, arch, tmp_path):
    # One .entry per instantiation: each template was really compiled for each type.
    ptx = compile_ptx(nvcc_program(source), arch, str(tmp_path))
    entries = re.findall(r"^\.visible \.entry (\w+)\(", ptx, re.M)
    assert len(entries) == len(cuda.name_expressions(source)), entries


@needs_nvcc
def test_a_syntax_error_fails_the_compile(tmp_path):
    # The check above can fail: a missing semicolon in a template body is reported.
    text = cuda.read_source("im2col.cu")
    broken = text.replace("const I cols = N * OH * OW;", "const I cols = N * OH * OW", 1)
    assert broken != text
    with pytest.raises(CompileError, match="error"):
        compile_ptx(nvcc_program("im2col.cu", broken), "sm_80", str(tmp_path))


@needs_nvcc
def test_an_error_only_an_instantiation_reveals_fails_the_compile(tmp_path):
    # x * 2.0f is fine for float and double but ambiguous for __half (the classic half mistake).
    # The uninstantiated template compiles; the appended instantiations make the error show.
    text = cuda.read_source("elementwise.cu")
    broken = text.replace("mask[idx] = keep;", "mask[idx] = keep; y[idx] = x[idx] * 2.0f;", 1)
    assert broken != text
    compile_ptx(broken, "sm_80", str(tmp_path), name="uninstantiated")
    with pytest.raises(CompileError, match="more than one operator"):
        compile_ptx(nvcc_program("elementwise.cu", broken), "sm_80", str(tmp_path))
