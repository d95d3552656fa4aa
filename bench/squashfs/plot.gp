# The SquashFS benchmark's two figures from run.sh's data files; `gnuplot -e "dir='OUT'" plot.gp`.
set terminal pngcairo size 1100,420 font ",10"
set output dir."/squashfs.png"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key top left
set yrange [0:*]
set multiplot layout 1,2 title "SquashFS of the Debian 12 + Open MPI image: gzip layer (mpi), plain tar layer (mpi-tar), padded to ~1 GB (mpi-1g)"
set title "building the SquashFS (s, lower is better)"
set ylabel "seconds"
plot dir."/build.dat" using 2:xtic(1) title "ours: from the layer", \
     "" using 3 title "tar -x, then mksquashfs", \
     "" using 4 title "mksquashfs alone"
set title "reading through the FUSE mount ÷ the extracted tree (goal ≤ 1.5)"
set ylabel "ratio"
plot dir."/access.dat" using 2:xtic(1) title "walk, cold", \
     "" using 3 title "walk, warm", \
     "" using 4 title "read all, cold", \
     "" using 5 title "read all, warm", \
     1.5 with lines dashtype 2 linecolor rgb "black" title "goal", \
     1 with lines linecolor rgb "gray" notitle
unset multiplot
