# Latency and bandwidth against message size from launch-bench's data files; `gnuplot -e "dir='OUT'" plot.gp`.
set terminal pngcairo size 1100,420 font ",10"
set logscale xy 2
set format x "%.0b%B"
set xlabel "message size (bytes)"
set key top left
set grid
do for [nodes in "1node 2node"] {
    file = dir."/pingpong-".nodes.".dat"
    columns = system("head -1 ".file." | grep -o '\"' | wc -l") / 2
    set output dir."/pingpong-".nodes.".png"
    set multiplot layout 1,2 title (nodes eq "1node" ? "ping-pong, two ranks on one node" : "ping-pong, one rank on each of two nodes")
    set ylabel "half round-trip (µs)"
    set logscale y 10
    set format y "%g"
    plot for [i=2:columns+1] file using 1:i with linespoints title columnheader(i)
    set ylabel "bandwidth (MB/s)"
    plot for [i=2:columns+1] file using 1:($1/column(i)) with linespoints title columnheader(i)
    unset multiplot
}
