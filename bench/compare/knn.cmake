# knn cpu against a nanoflann k-d tree (header-only, Debian libnanoflann-dev).
find_path(MB_NANOFLANN_INCLUDE_DIR nanoflann.hpp)
if(MB_NANOFLANN_INCLUDE_DIR)
  add_executable(knn_nanoflann ${CMAKE_CURRENT_LIST_DIR}/knn_nanoflann.cpp)
  target_include_directories(knn_nanoflann SYSTEM PRIVATE ${MB_NANOFLANN_INCLUDE_DIR})
  target_link_libraries(knn_nanoflann PRIVATE mb_ops mb_warnings)
else()
  message(STATUS "nanoflann.hpp not found: knn_nanoflann comparison not built")
endif()
