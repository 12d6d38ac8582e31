# Labs.cmake — reads labs/labs.json, the one description of the labs, and chooses for each
# lab file the reference version or the student's copy (GW_LABS).
#
# For each lab the manifest lists its reference files ("files", e.g.
# reference/autodiff/backprop.cpp) and, in the same order, the student's copies
# ("student_files", e.g. labs/03-reverse-mode/backprop.cpp, written by gw-labgen). GW_LABS
# picks the version compiled into the library:
#   reference   every lab file from reference/ (the default: the complete system)
#   student     every lab file from labs/ (what a student builds; stubs compile and throw)
#   01;03       the student copies of labs 01 and 03, the reference for the rest
# A lab whose reference files are absent (the student release has none) always comes from
# labs/. gw_lab_sources(<out-var> <sources...>) returns the sources with each selected lab
# file replaced by its student copy. A selected header (reference/include/gw/dual.h) is
# swapped by a forwarding header in <build>/gw_lab_include, which comes first on every
# include path.

set(GW_LABS_MANIFEST ${CMAKE_SOURCE_DIR}/labs/labs.json)
set(GW_LAB_IDS "")                # every lab id of the manifest, in order
set(GW_LAB_STUDENT_IDS "")        # the labs taken from labs/
set(GW_LAB_SWAP_FROM "")          # absolute reference paths that are swapped ...
set(GW_LAB_SWAP_TO "")            # ... for these student copies (same order)
set(GW_LAB_INCLUDE_DIR ${CMAKE_BINARY_DIR}/gw_lab_include)
set(_gw_swapped_headers "")       # labs whose headers come from labs/
set(_gw_manifest "{\"labs\": []}")
if(EXISTS ${GW_LABS_MANIFEST})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${GW_LABS_MANIFEST})
  file(READ ${GW_LABS_MANIFEST} _gw_manifest)
endif()

# gw_lab_get(<out> <lab index> <key...>): one value of lab <index>; FATAL_ERROR naming the key
# when it is missing.
function(gw_lab_get out index)
  string(JSON value ERROR_VARIABLE error GET "${_gw_manifest}" labs ${index} ${ARGN})
  if(error)
    string(REPLACE ";" "." key "${ARGN}")
    message(FATAL_ERROR "gradwork: labs/labs.json: lab #${index} has no \"${key}\": ${error}")
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# gw_lab_list(<out> <lab index> <key>): the strings of an array of lab <index> (empty when
# the array is empty or absent).
function(gw_lab_list out index key)
  set(items "")
  string(JSON count ERROR_VARIABLE error LENGTH "${_gw_manifest}" labs ${index} ${key})
  if(NOT error AND count GREATER 0)
    math(EXPR last "${count} - 1")
    foreach(j RANGE 0 ${last})
      string(JSON item GET "${_gw_manifest}" labs ${index} ${key} ${j})
      list(APPEND items ${item})
    endforeach()
  endif()
  set(${out} "${items}" PARENT_SCOPE)
endfunction()

string(JSON _gw_nlabs ERROR_VARIABLE _gw_err LENGTH "${_gw_manifest}" labs)
if(_gw_err)
  message(FATAL_ERROR "gradwork: labs/labs.json has no \"labs\" array: ${_gw_err}")
endif()
set(GW_LAB_INDICES "")  # 0 … n−1, for foreach
if(_gw_nlabs GREATER 0)
  math(EXPR _gw_last "${_gw_nlabs} - 1")
  foreach(_i RANGE 0 ${_gw_last})
    gw_lab_get(_id ${_i} id)
    list(APPEND GW_LAB_IDS ${_id})
    list(APPEND GW_LAB_INDICES ${_i})
  endforeach()
endif()

# Which labs come from labs/.
if(GW_LABS STREQUAL "reference" OR GW_LABS STREQUAL "")
  set(GW_LAB_STUDENT_IDS "")
elseif(GW_LABS STREQUAL "student")
  set(GW_LAB_STUDENT_IDS ${GW_LAB_IDS})
else()
  foreach(_id ${GW_LABS})
    if(_id MATCHES "^[0-9]$")
      set(_id "0${_id}")  # "3" means lab 03
    endif()
    if(NOT _id IN_LIST GW_LAB_IDS)
      message(FATAL_ERROR "gradwork: GW_LABS=${GW_LABS}: no lab \"${_id}\" in labs/labs.json "
                          "(use reference, student, or lab numbers such as 01;03)")
    endif()
    list(APPEND GW_LAB_STUDENT_IDS ${_id})
  endforeach()
endif()

# The swap table, and the forwarding headers of student headers.
set(_gw_released "")  # labs without reference files: a student release
foreach(_i ${GW_LAB_INDICES})
  gw_lab_get(_id ${_i} id)
  gw_lab_get(_handout ${_i} handout)
  if(NOT EXISTS ${CMAKE_SOURCE_DIR}/${_handout})
    message(FATAL_ERROR "gradwork: labs/labs.json: lab ${_id}'s handout ${_handout} is missing")
  endif()
  gw_lab_list(_refs ${_i} files)
  gw_lab_list(_copies ${_i} student_files)
  list(LENGTH _refs _n)
  list(LENGTH _copies _m)
  if(NOT _n EQUAL _m)
    message(FATAL_ERROR "gradwork: labs/labs.json: lab ${_id} lists ${_n} files but ${_m} "
                        "student_files; they pair up in order")
  endif()
  set(_from_labs OFF)
  if(_id IN_LIST GW_LAB_STUDENT_IDS)
    set(_from_labs ON)
  endif()
  foreach(_ref ${_refs})
    if(NOT EXISTS ${CMAKE_SOURCE_DIR}/${_ref})
      set(_from_labs ON)
      list(APPEND _gw_released ${_id})
    endif()
  endforeach()
  foreach(_ref _copy IN ZIP_LISTS _refs _copies)
    set(_student ${CMAKE_SOURCE_DIR}/${_copy})
    # A header is found through the include path; its forwarding copy mirrors the path
    # below reference/include (or below reference/ for private headers).
    set(_fwd "")
    if(_ref MATCHES "^reference/include/(.*\\.h)$")
      set(_fwd ${GW_LAB_INCLUDE_DIR}/${CMAKE_MATCH_1})
    elseif(_ref MATCHES "^reference/(.*\\.h)$")  # (if() has no short-circuit: keep apart)
      set(_fwd ${GW_LAB_INCLUDE_DIR}/${CMAKE_MATCH_1})
    endif()
    if(_from_labs)
      if(NOT EXISTS ${_student})
        message(FATAL_ERROR "gradwork: lab ${_id} is taken from labs/ (GW_LABS=${GW_LABS}) but "
                            "${_copy} is missing; run: gw-labgen generate")
      endif()
      list(APPEND GW_LAB_SWAP_FROM ${CMAKE_SOURCE_DIR}/${_ref})
      list(APPEND GW_LAB_SWAP_TO ${_student})
      if(_fwd)
        list(APPEND _gw_swapped_headers ${_id})
        file(CONFIGURE OUTPUT ${_fwd} CONTENT
             "// Generated by cmake/Labs.cmake: lab ${_id} is built from the student copy.\n#pragma once\n#include \"${_student}\"\n")
      endif()
    elseif(_fwd AND EXISTS ${_fwd})
      file(REMOVE ${_fwd})  # lab back to the reference: drop the stale forwarding header
    endif()
  endforeach()
  if(_from_labs AND NOT _id IN_LIST GW_LAB_STUDENT_IDS)
    list(APPEND GW_LAB_STUDENT_IDS ${_id})
  endif()
endforeach()

# Forwarding headers win over reference/include for every target of the project. The
# definition names the labs whose headers are swapped: switching GW_LABS in an existing
# build changes the flags, so Ninja recompiles what included the other version (a new
# header that shadows an old one is not a dependency change it would see).
file(MAKE_DIRECTORY ${GW_LAB_INCLUDE_DIR})
include_directories(BEFORE ${GW_LAB_INCLUDE_DIR})
if(_gw_swapped_headers)
  list(REMOVE_DUPLICATES _gw_swapped_headers)
  string(REPLACE ";" "_" _gw_swapped_headers "${_gw_swapped_headers}")
  add_compile_definitions(GW_LAB_HEADERS_FROM_LABS=${_gw_swapped_headers})
endif()

if(_gw_released)
  list(REMOVE_DUPLICATES _gw_released)
  string(REPLACE ";" " " _gw_list "${_gw_released}")
  message(STATUS "gradwork: lab(s) ${_gw_list} have no reference files here: built from labs/")
endif()
if(GW_LAB_STUDENT_IDS)
  string(REPLACE ";" " " _gw_list "${GW_LAB_STUDENT_IDS}")
  message(STATUS "gradwork: lab(s) ${_gw_list} from labs/ (student copies, GW_LABS=${GW_LABS}); every other lab file from reference/")
else()
  message(STATUS "gradwork: every lab file from reference/ (GW_LABS=reference)")
endif()

# gw_lab_sources(<out> <sources...>): the sources with each selected lab file swapped for
# its student copy. The student copy keeps the include directory of its reference file, so
# `#include "sibling.h"` still resolves.
function(gw_lab_sources out)
  set(result "")
  foreach(src ${ARGN})
    get_filename_component(abs ${src} ABSOLUTE)
    list(FIND GW_LAB_SWAP_FROM ${abs} at)
    if(at EQUAL -1)
      list(APPEND result ${src})
    else()
      list(GET GW_LAB_SWAP_TO ${at} student)
      get_filename_component(ref_dir ${abs} DIRECTORY)
      set_source_files_properties(${student} PROPERTIES INCLUDE_DIRECTORIES ${ref_dir})
      list(APPEND result ${student})
    endif()
  endforeach()
  # A lab file that the release left out is not found by the source globs: add its copy.
  foreach(from to IN ZIP_LISTS GW_LAB_SWAP_FROM GW_LAB_SWAP_TO)
    if(NOT EXISTS ${from} AND NOT to IN_LIST result AND to MATCHES "\\.(cpp|cu)$")
      get_filename_component(ref_dir ${from} DIRECTORY)
      foreach(src ${ARGN})
        get_filename_component(src_dir ${src} ABSOLUTE)
        get_filename_component(src_dir ${src_dir} DIRECTORY)
        if(src_dir STREQUAL ref_dir)
          set_source_files_properties(${to} PROPERTIES INCLUDE_DIRECTORIES ${ref_dir})
          list(APPEND result ${to})
          break()
        endif()
      endforeach()
    endif()
  endforeach()
  set(${out} ${result} PARENT_SCOPE)
endfunction()
