# One ctest -L bench step. ACTION=setup picks a fresh run id (results/<run-id>/,
# recorded in results/.current-run); ACTION=run runs one op x mode into it as process
# PROCESS (<op>.<mode>.p<PROCESS>.json);
# ACTION=check runs one op x mode with ARGS into results/<run-id>/checks/ (out of
# the report's way) and fails unless every entry completed and was right.
# Prints "modebench-skip:" (the test's SKIP_REGULAR_EXPRESSION) when every entry of a
# device mode was unavailable, so ctest reports it skipped, not passed.
cmake_minimum_required(VERSION 3.20)

# Sets <prefix>_total, <prefix>_unavailable, <prefix>_reason, <prefix>_bad (first non-ok status other than
# unavailable) from a result file.
function(read_statuses file prefix)
  file(READ "${file}" json)
  string(JSON n LENGTH "${json}" benchmarks)
  set(unavailable 0)
  set(reason "")
  set(bad "")
  if(n GREATER 0)
    math(EXPR last "${n} - 1")
    foreach(i RANGE ${last})
      string(JSON msg ERROR_VARIABLE no_msg GET "${json}" benchmarks ${i} error_message)
      if(NOT no_msg AND msg MATCHES "^unavailable: ")
        math(EXPR unavailable "${unavailable} + 1")
        set(reason "${msg}")
      elseif(NOT no_msg AND bad STREQUAL "")
        string(JSON name GET "${json}" benchmarks ${i} name)
        set(bad "${name}: ${msg}")
      endif()
    endforeach()
  endif()
  set(${prefix}_total ${n} PARENT_SCOPE)
  set(${prefix}_unavailable ${unavailable} PARENT_SCOPE)
  set(${prefix}_reason "${reason}" PARENT_SCOPE)
  set(${prefix}_bad "${bad}" PARENT_SCOPE)
endfunction()
set(pointer "${RESULTS}/.current-run")
if(ACTION STREQUAL "setup")
  string(TIMESTAMP run_id "%Y%m%d-%H%M%S" UTC)
  file(MAKE_DIRECTORY "${RESULTS}/${run_id}")
  file(WRITE "${pointer}" "${run_id}")
  message(STATUS "modebench run folder: ${RESULTS}/${run_id}")
  # The host's limits (fp32 FMA peak, memory bandwidth), measured before the sweep, when no
  # benchmark of ours loads the machine; the file says whether anything else did.
  # Kept in a subfolder: the run folder itself holds only result files.
  file(MAKE_DIRECTORY "${RESULTS}/${run_id}/limits")
  execute_process(COMMAND "${LIMITS}" OUTPUT_FILE "${RESULTS}/${run_id}/limits/host.json" RESULT_VARIABLE limits_rc)
  if(NOT limits_rc EQUAL 0)
    file(REMOVE "${RESULTS}/${run_id}/limits/host.json")
  endif()
  return()
endif()

file(READ "${pointer}" run_id)
string(STRIP "${run_id}" run_id)
if(ACTION STREQUAL "report")
  set(dir "${RESULTS}/${run_id}")
  # The host's measured limits become the charts' reference lines.
  set(limits_args "")
  if(EXISTS "${dir}/limits/host.json")
    set(limits_args --limits "${dir}/limits/host.json")
  endif()
  execute_process(COMMAND "${PYTHON}" "${REPORT}" render "${dir}" --out "${dir}/report" ${limits_args}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "modebench-report render ${dir} exited with ${rc}")
  endif()
  message(STATUS "report: ${dir}/report/index.html")
  # The fallback policy an application reads (modebench-policy/2), beside the report.
  execute_process(COMMAND "${PYTHON}" "${REPORT}" policy "${dir}" --out "${dir}/report/policy.json" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "modebench-report policy ${dir} exited with ${rc}")
  endif()
  message(STATUS "policy: ${dir}/report/policy.json")
  return()
endif()
if(ACTION STREQUAL "check")
  file(MAKE_DIRECTORY "${RESULTS}/${run_id}/checks")
  set(out "${RESULTS}/${run_id}/checks/${NAME}.json")
else()
  set(out "${RESULTS}/${run_id}/${OP}.${MODE}.p${PROCESS}.json")
endif()
separate_arguments(extra UNIX_COMMAND "${ARGS}")
execute_process(COMMAND "${MODEBENCH}" run --ops ${OP} --modes ${MODE} --profile ${PROFILE} ${extra} --out "${out}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "modebench run --ops ${OP} --modes ${MODE} ${ARGS} exited with ${rc}")
endif()
read_statuses("${out}" st)
if(st_total GREATER 0 AND st_unavailable EQUAL st_total)
  message(STATUS "modebench-skip: ${st_reason}")
elseif(ACTION STREQUAL "check" AND NOT st_bad STREQUAL "")
  message(FATAL_ERROR "${NAME}: ${st_bad}")
endif()
