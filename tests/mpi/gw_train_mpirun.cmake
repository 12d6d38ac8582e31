# gw_train_mpirun.cmake — ctest script: `mpirun -np 2 gw-train` on a small synthetic corpus
# trains 2 processes; rank 0 alone prints the progress and writes the checkpoint, which
# records ranks = 2. Arguments: MPIRUN (the command's words joined by |), TRAIN, CORPUS, WORK.
string(REPLACE "|" ";" MPIRUN "${MPIRUN}")
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${CORPUS} --kind grammar --bytes 30000 --out ${WORK}/grammar.txt
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gw-make_corpus failed: ${rc}")
endif()
execute_process(
  COMMAND ${MPIRUN} ${TRAIN} --preset cpu-tiny --data ${WORK}/grammar.txt --out-dir ${WORK}/out
          --n-layer 1 --n-embd 32 --n-head 2 --block-size 16 --batch-size 2 --max-iters 4
          --eval-interval 2 --eval-iters 2 --log-interval 1 --plot false
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mpirun -np 2 gw-train failed (exit ${rc})")
endif()
string(REGEX MATCHALL "data parallel: 2 ranks \\(mpi\\)" lines "${out}")
list(LENGTH lines n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected rank 0 alone to print one 'data parallel: 2 ranks (mpi)' line, got ${n}")
endif()
if(NOT EXISTS ${WORK}/out/ckpt.bin OR NOT EXISTS ${WORK}/out/summary.json)
  message(FATAL_ERROR "rank 0 wrote no checkpoint or summary in ${WORK}/out")
endif()
file(READ ${WORK}/out/summary.json summary)
string(JSON ranks GET "${summary}" config ranks)
if(NOT ranks EQUAL 2)
  message(FATAL_ERROR "summary.json records ranks = ${ranks}, expected 2")
endif()
