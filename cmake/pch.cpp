// The translation unit that builds the shared precompiled header (CMakeLists.txt: tt_pch).
