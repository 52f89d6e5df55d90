set terminal pngcairo size 900,400
set output 'log.png'
set multiplot layout 1,2
set xlabel 'epoch'
set ylabel 'loss'
plot 'log.tsv' using 1:2 with linespoints title 'train loss'
set ylabel 'accuracy'
set yrange [0:1]
plot 'log.tsv' using 1:3 with linespoints title 'train', '' using 1:4 with linespoints title 'test'
unset multiplot
