# Finds Arrow C++ (with Parquet, Acero, Dataset, S3 and Flight) and defines the imported targets
#   nlk::arrow nlk::parquet nlk::acero nlk::dataset nlk::arrow_s3 nlk::arrow_flight
# A system Arrow found by CMake wins; otherwise the pyarrow wheel in the project venv is used.
# The Python extension (NLK_BUILD_PYTHON) always uses pyarrow's: it shares the process with it.
if(NOT NLK_BUILD_PYTHON)
  find_package(Arrow CONFIG QUIET)
  find_package(Parquet CONFIG QUIET)
  find_package(ArrowAcero CONFIG QUIET)
  find_package(ArrowDataset CONFIG QUIET)
  find_package(ArrowFlight CONFIG QUIET)
endif()

if(Arrow_FOUND AND Parquet_FOUND AND ArrowAcero_FOUND AND ArrowDataset_FOUND AND ArrowFlight_FOUND)
  message(STATUS "Arrow: system installation ${Arrow_VERSION}")
  add_library(nlk::arrow INTERFACE IMPORTED)
  target_link_libraries(nlk::arrow INTERFACE Arrow::arrow_shared)
  add_library(nlk::parquet INTERFACE IMPORTED)
  target_link_libraries(nlk::parquet INTERFACE Parquet::parquet_shared)
  add_library(nlk::acero INTERFACE IMPORTED)
  target_link_libraries(nlk::acero INTERFACE ArrowAcero::arrow_acero_shared)
  add_library(nlk::dataset INTERFACE IMPORTED)
  target_link_libraries(nlk::dataset INTERFACE ArrowDataset::arrow_dataset_shared)
  add_library(nlk::arrow_flight INTERFACE IMPORTED)
  target_link_libraries(nlk::arrow_flight INTERFACE ArrowFlight::arrow_flight_shared)
  # A system Arrow carries S3 inside libarrow when built with ARROW_S3.
  add_library(nlk::arrow_s3 INTERFACE IMPORTED)
  return()
endif()

set(NLK_PYTHON "${PROJECT_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH "Python holding pyarrow")
if(NOT EXISTS "${NLK_PYTHON}")
  message(FATAL_ERROR "No system Arrow and no ${NLK_PYTHON}: run scripts/bootstrap.sh first")
endif()
execute_process(
  COMMAND "${NLK_PYTHON}" -c "import pyarrow; print(pyarrow.get_include()); print(pyarrow.get_library_dirs()[0]); print(pyarrow.__version__)"
  OUTPUT_VARIABLE _pyarrow_out OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _pyarrow_rc)
if(NOT _pyarrow_rc EQUAL 0)
  message(FATAL_ERROR "pyarrow is not importable from ${NLK_PYTHON}")
endif()
string(REPLACE "\n" ";" _pyarrow_out "${_pyarrow_out}")
list(GET _pyarrow_out 0 NLK_ARROW_INCLUDE_DIR)
list(GET _pyarrow_out 1 NLK_ARROW_LIBRARY_DIR)
list(GET _pyarrow_out 2 NLK_ARROW_VERSION)
message(STATUS "Arrow: pyarrow wheel ${NLK_ARROW_VERSION} at ${NLK_ARROW_LIBRARY_DIR}")

function(nlk_import_arrow_library target library)
  set(_path "${NLK_ARROW_LIBRARY_DIR}/lib${library}.so")
  if(NOT EXISTS "${_path}")
    # A fresh wheel ships only the versioned names (libarrow.so.2600); bootstrap.sh adds the
    # unversioned links, which a pip build environment does not have.
    file(GLOB _versioned "${NLK_ARROW_LIBRARY_DIR}/lib${library}.so.*")
    list(SORT _versioned)
    list(LENGTH _versioned _count)
    if(_count EQUAL 0)
      message(FATAL_ERROR "${_path} missing: run scripts/bootstrap.sh (creates the library symlinks)")
    endif()
    list(GET _versioned 0 _path)
  endif()
  add_library(${target} SHARED IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION "${_path}"
                                             INTERFACE_INCLUDE_DIRECTORIES "${NLK_ARROW_INCLUDE_DIR}")
  # Arrow headers are not ours: keep their warnings out of -Werror.
  set_property(TARGET ${target} PROPERTY INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${NLK_ARROW_INCLUDE_DIR}")
endfunction()

nlk_import_arrow_library(nlk::arrow arrow)
nlk_import_arrow_library(nlk::parquet parquet)
nlk_import_arrow_library(nlk::acero arrow_acero)
nlk_import_arrow_library(nlk::dataset arrow_dataset)
nlk_import_arrow_library(nlk::arrow_compute arrow_compute)
nlk_import_arrow_library(nlk::arrow_s3 arrow_s3)
nlk_import_arrow_library(nlk::arrow_flight arrow_flight)
set_property(TARGET nlk::arrow APPEND PROPERTY INTERFACE_LINK_LIBRARIES nlk::arrow_compute)
set(CMAKE_BUILD_RPATH "${NLK_ARROW_LIBRARY_DIR}")
