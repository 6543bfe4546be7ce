# hadmc_target_defaults(target): warnings and include layout shared by every project target.
function(hadmc_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
endfunction()

# hadmc_torch_pch(target): precompiled LibTorch headers for a torch-heavy target. A file that
# includes torch/torch.h costs ~15 s to compile on a 2-core machine without it. One PCH is built
# (for hadmc_common) and every other target reuses it, so targets must not add -D definitions of
# their own (put such values in a generated header instead).
function(hadmc_torch_pch target)
  if(target STREQUAL "hadmc_common")
    target_precompile_headers(hadmc_common PRIVATE <torch/torch.h>)
  else()
    target_precompile_headers(${target} REUSE_FROM hadmc_common)
  endif()
endfunction()
