# True objective F(x) (re-solved at each iterate) against f evaluations for test image 0, one panel
# per decoder seed (rows) × step α (columns); red nested, blue joint. Run from the repository root.
set terminal pngcairo size 1800,1200 font ",10"
set output "Results/input-optimization-inpainting/objective.png"
set multiplot layout 3,4 title "Inpainting the bottom half of test digit 0 through a DEQ decoder: F(x) vs f evaluations (red nested, blue joint JIIO; Anderson)"
set logscale xy
set xrange [1:300000]
set xlabel "f evaluations"
set ylabel "F(x) = ½‖M⊙(ŷ−y)‖² + (λ/2)‖x‖²"
set key top right
do for [s=0:2] {
  do for [a in "0.01 0.03 0.1 0.3"] {
    f = sprintf("Results/input-optimization-inpainting/runs/seed-%d-image0-step%s.dat", s, a)
    set title sprintf("decoder seed %d, α = %s", s, a)
    plot f index 0 using 1:4 with lines lw 2 lc rgb "#d62728" title "nested", \
         f index 1 using 1:4 with lines lw 2 lc rgb "#1f77b4" title "joint"
  }
}
unset multiplot
