# Labs.cmake — chooses, for each lab file, the reference version or the student's (GW_LABS).
#
# gw_lab_sources(<out-var> <sources...>) returns the sources with every lab file replaced by
# labs/NN-name/<file> when lab NN is selected as "student". The lab machinery fills this in
# from labs/labs.json; until then every file is the reference.
function(gw_lab_sources out)
  set(${out} ${ARGN} PARENT_SCOPE)
endfunction()
